"""``lmf-engine template list|render|export``: the chat templates, one sample token by token, jinja export.

``list`` never imports torch or transformers. ``render`` and ``export`` load the model's tokenizer (not its weights).
Problems a user can fix are one line on stderr and exit code 2.
"""

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

if TYPE_CHECKING:
    from lmf_engine.config import Config
    from lmf_engine.data.example import Example
    from lmf_engine.data.templates import Template

app = typer.Typer(
    help="Inspect chat templates: list them, show a sample token by token with its traps, export as jinja.",
    no_args_is_help=True,
)

ModelOpt = Annotated[
    str | None, typer.Option("--model", help="Model folder (or hub id) whose tokenizer to use.", show_default=False)
]


def fail(message: str) -> NoReturn:
    """One line on stderr, exit code 2."""
    typer.echo(message, err=True)
    raise typer.Exit(2)


def template_info(template: "Template") -> dict[str, Any]:
    """What ``template list`` shows of one template."""
    return {
        "name": template.name,
        "reasoning": template.reasoning,
        "enable_thinking": template.enable_thinking if template.is_reasoning else None,
        "tool_format": "slots" if template.tools_slots is not None else template.tool_format,
        "stop_words": list(template.stop_words),
        "efficient_eos": template.efficient_eos,
        "replace_eos": template.replace_eos,
        "default_system": template.default_system,
        "multimodal": template.multimodal,
    }


@app.command("list")
def list_templates(as_json: Annotated[bool, typer.Option("--json", help="Print one JSON list.")] = False) -> None:
    """List every template with its reasoning style, tool-call format and stop words."""
    from lmf_engine.data.templates import HF_TEMPLATE, get_template, template_names

    infos = [template_info(get_template(name)) for name in template_names()]
    if as_json:
        typer.echo(json.dumps(infos, indent=1, ensure_ascii=False))
        return
    width = max(len(info["name"]) for info in infos)
    typer.echo(f"{'name':<{width}}  {'reasoning':<16}  {'tools':<9}  stop words")
    for info in infos:
        reasoning = info["reasoning"] if info["reasoning"] != "none" else "-"
        extra = f"  [{info['multimodal']}]" if info["multimodal"] else ""
        stops = " ".join(info["stop_words"]) or "-"
        typer.echo(f"{info['name']:<{width}}  {reasoning:<16}  {info['tool_format']:<9}  {stops}{extra}")
    typer.echo(f"{len(infos)} templates; `{HF_TEMPLATE}` uses the tokenizer's own jinja chat template.")


def check_template_name(name: str) -> None:
    """Exit 2 with a did-you-mean for an unknown template name."""
    from lmf_engine.data.templates import HF_TEMPLATE, template_names
    from lmf_engine.util.suggest import did_you_mean

    names = template_names()
    if name != HF_TEMPLATE and name not in names:
        close = did_you_mean(name, names)
        hint = f"; did you mean {' or '.join(close)}?" if close else ""
        fail(f"unknown template {name!r}{hint} (`lmf-engine template list` shows them all)")


def _looks_local(path: str) -> bool:
    parts = Path(path).parts
    return (
        Path(path).is_absolute()
        or path.startswith((".", "~"))
        or Path(path).exists()
        or len(parts) > 2
        or (len(parts) == 2 and Path(parts[0]).is_dir())
    )


def build_config(config_file: Path | None, overrides: list[str], model: str | None, template: str | None) -> "Config":
    """The config of a render/export call: file < key=value < --model/--template; checks the model and template."""
    from lmf_engine.config import check_config

    if config_file is not None and not config_file.is_file():
        fail(f"{config_file}: config file not found")
    extra = [f"model_name_or_path={model}"] if model else []
    extra += [f"template={template}"] if template else []
    config, issues = check_config(config_file, [*overrides, *extra])
    if issues:
        for issue in issues[:-1]:
            typer.echo(str(issue), err=True)
        fail(str(issues[-1]))
    path = config.get("model_name_or_path")
    if not path:
        fail("no model: pass --model PATH or a CONFIG that sets model_name_or_path")
    if not Path(path).expanduser().is_dir() and _looks_local(path):
        fail(f"model_name_or_path: model folder {path!r} not found")
    if config.data.template:
        check_template_name(config.data.template)
    return config


def _split_args(args: list[str]) -> tuple[Path | None, list[str]]:
    config_file: Path | None = None
    overrides: list[str] = []
    for arg in args:
        if "=" in arg and not Path(arg).is_file():
            overrides.append(arg)
        elif config_file is None and not overrides:
            config_file = Path(arg)
        else:
            fail(f"{arg!r}: expected key=value (the config file comes first, once)")
    return config_file, overrides


def _sample(config: "Config", messages: str | None, dataset: str | None, row: int) -> "Example":
    from lmf_engine.data.registry import split_names
    from lmf_engine.data.samples import SAMPLE_MESSAGES, as_example, dataset_example, parse_messages_arg

    if messages is not None:
        return parse_messages_arg(messages)
    names = split_names(config.data.dataset)
    name = dataset or (names[0] if names else None)
    if name is None:
        return as_example(list(SAMPLE_MESSAGES))
    return dataset_example(config.data.dataset_dir, name, row, config.data.media_dir)


def _stage(stage: str | None, config_file: Path | None, config: "Config", example: "Example") -> str:
    from lmf_engine.data.inspect import STAGES

    if stage is None:
        if config_file is not None and "stage" in config.explicit:
            stage = config.finetuning.stage
        elif example.kto_tag is not None:
            stage = "kto"
        else:
            stage = "rm" if len(example.response) == 2 else "sft"
    if stage not in STAGES:
        fail(f"--stage: unknown stage {stage!r}; choose one of {', '.join(STAGES)}")
    return stage


@app.command()
def render(
    args: Annotated[
        list[str] | None,
        typer.Argument(
            help="A config file, then key=value overrides.", metavar="CONFIG KEY=VALUE", show_default=False
        ),
    ] = None,
    template: Annotated[str | None, typer.Option("--template", help="Template name (overrides the config's).")] = None,
    model: ModelOpt = None,
    dataset: Annotated[str | None, typer.Option("--dataset", help="Dataset name from dataset_info.json.")] = None,
    row: Annotated[int, typer.Option("--row", help="Row of the dataset, 0-based, in file order.")] = 0,
    messages: Annotated[
        str | None,
        typer.Option("--messages", help="Messages as JSON, a JSON file, or - for stdin.", metavar="JSON_OR_FILE"),
    ] = None,
    ids: Annotated[bool, typer.Option("--ids", help="List every token with its id and role.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    stage: Annotated[str | None, typer.Option("--stage", help="pt, sft, rm, dpo, kto or ppo.")] = None,
) -> None:
    """Show one sample as training sees it: every token coloured trained / masked / special, then the traps.

    The sample: --messages, else --row of --dataset or of the config's first dataset, else a built-in chat.

    The stage: --stage, else the config's, else sft (rm for a chosen/rejected sample, kto for a kto_tag).
    """
    from lmf_engine.config import ConfigError
    from lmf_engine.data.errors import DataError
    from lmf_engine.data.inspect import render_sample, setup_from_config
    from lmf_engine.data.samples import SampleError
    from lmf_engine.data.templates import TemplateError
    from lmf_engine.data.traps import detect_traps
    from lmf_engine.model.tokenizer import ModelLoadError

    from .template_view import print_rendered

    if messages is not None and dataset is not None:
        fail("--messages and --dataset: give one of them")
    if template is not None:
        check_template_name(template)
    config_file, overrides = _split_args(args or [])
    config = build_config(config_file, overrides, model, template)
    try:
        example = _sample(config, messages, dataset, row)
        chosen_stage = _stage(stage, config_file, config, example)
        setup = setup_from_config(config)
        rendered = render_sample(setup.template, setup.tokenizer, example, setup.options, chosen_stage)
        traps = detect_traps(setup.template, setup.tokenizer, rendered, chat_template=setup.model_chat_template)
    except (ConfigError, DataError, SampleError, TemplateError, ModelLoadError) as exc:
        fail(str(exc))
    if as_json:
        out = {**rendered.to_dict(), "model": config.get("model_name_or_path"), "traps": [t.to_dict() for t in traps]}
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    print_rendered(rendered, traps, str(config.get("model_name_or_path")), show_ids=ids)


def _named_tokens(template: "Template") -> str:
    from lmf_engine.data.templates import TokenRef

    slots = (template.format_prefix, template.format_system, template.format_user, template.format_assistant)
    return ", ".join(dict.fromkeys(s.token for group in slots for s in group if isinstance(s, TokenRef)))


@app.command()
def export(
    name: Annotated[str, typer.Argument(help="Template name.", show_default=False)],
    model: ModelOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Write the jinja template here instead of stdout.")] = None,
) -> None:
    """Print the template as a jinja chat template and check it renders the template's text for a sample chat.

    Exit code 1 when the jinja template renders the sample chat differently from the template.
    """
    from lmf_engine.data.inspect import first_difference, template_text
    from lmf_engine.data.samples import SAMPLE_MESSAGES, as_example
    from lmf_engine.data.templates import HF_TEMPLATE, get_template, get_template_and_fix_tokenizer, to_jinja
    from lmf_engine.model.tokenizer import ModelLoadError, load_tokenizer

    check_template_name(name)
    if name != HF_TEMPLATE and (named := _named_tokens(get_template(name))):
        fail(f"template {name} names tokens directly ({named}), which a jinja template cannot write")
    if model is None:
        fail("--model PATH is required: bos/eos are written as the model tokenizer's tokens")
    config = build_config(None, [], model, None)
    try:
        tokenizer = load_tokenizer(config)
    except ModelLoadError as exc:
        fail(str(exc))
    template = get_template_and_fix_tokenizer(tokenizer, name)
    jinja = to_jinja(template, tokenizer)
    if out is not None:
        out.write_text(jinja + "\n", encoding="utf-8")
    else:
        sys.stdout.write(jinja + "\n")
    example = as_example(list(SAMPLE_MESSAGES))
    ours = template_text(template, tokenizer, example)
    theirs = tokenizer.apply_chat_template(list(SAMPLE_MESSAGES), chat_template=jinja, tokenize=False)
    if ours != theirs:
        where = first_difference(ours, theirs, ("the template", "the exported jinja template"))
        typer.echo(f"mismatch: for a sample two-turn conversation, {where}", err=True)
        raise typer.Exit(1)
    typer.echo(
        f"checked: the jinja template renders the same text as template {name} for a sample conversation", err=True
    )
