"""Loading, merging and per-key validation of configs."""

import json
from pathlib import Path

import pytest
import yaml

from lmf_engine.config import ConfigError, check_config, load_config
from lmf_engine.config.groups import all_fields, known_unsupported

EXAMPLES = Path(__file__).resolve().parents[3] / "shared" / "lmf-examples"
TRAIN_CONFIG_DIRS = ("train_lora", "train_full", "train_qlora", "inference", "merge_lora", "extras")
MULTIMODAL_HINTS = ("vl", "mossvl")


def example_configs() -> list[Path]:
    files = [p for d in TRAIN_CONFIG_DIRS for p in sorted((EXAMPLES / d).rglob("*.yaml"))]
    return [p for p in files if p.name != "tokens_cfg.yaml"]  # a token description file, not a config


def write(tmp_path: Path, text: str, name: str = "c.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def messages(issues) -> list[str]:
    return [str(i) for i in issues]


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="../shared/lmf-examples is not present")
@pytest.mark.parametrize("path", example_configs(), ids=lambda p: str(p.relative_to(EXAMPLES)))
def test_every_llamafactory_example_key_is_known(path: Path) -> None:
    _, issues = check_config(path)
    assert all("unknown key" not in str(i) for i in issues), messages(issues)
    plain = "extras" not in path.parts and not any(h in path.stem for h in (*MULTIMODAL_HINTS, "ray"))
    if plain:
        assert issues == [], messages(issues)
    for issue in issues:
        assert issue.key in known_unsupported() or "not supported" in issue.message


@pytest.mark.skipif(not EXAMPLES.is_dir(), reason="../shared/lmf-examples is not present")
def test_text_examples_load_unchanged() -> None:
    config = load_config(EXAMPLES / "train_lora" / "qwen3_lora_sft.yaml")
    assert config.finetuning.stage == "sft"
    assert config.finetuning.lora_target == "all"
    assert config.data.dataset == "identity,alpaca_en_demo"
    assert config.training.learning_rate == pytest.approx(1e-4)
    assert config.training.resume_from_checkpoint is None
    assert config.training.report_to == "none"
    assert config.get("ddp_timeout") == 180000000


def test_defaults_file_overrides_merge_in_order(tmp_path: Path) -> None:
    path = write(tmp_path, "lora_rank: 16\nlearning_rate: 1e-4\ncutoff_len: 512\n")
    config = load_config(path, ["cutoff_len=1024", "bf16=true", "lora_dropout=0.05"])
    assert config.finetuning.lora_rank == 16  # file over default
    assert config.data.cutoff_len == 1024  # override over file
    assert config.training.bf16 is True
    assert config.finetuning.lora_alpha is None  # default
    assert config.training.learning_rate == pytest.approx(1e-4)  # YAML 1.1 reads 1e-4 as a string
    assert list(config.explicit) == ["lora_rank", "learning_rate", "cutoff_len", "bf16", "lora_dropout"]


def test_override_null_and_strings(tmp_path: Path) -> None:
    path = write(tmp_path, "resume_from_checkpoint: runs/x/checkpoint-5\n")
    config = load_config(path, ["resume_from_checkpoint=null", "template=qwen"])
    assert config.training.resume_from_checkpoint is None
    assert config.data.template == "qwen"


def test_unknown_key_suggests(tmp_path: Path) -> None:
    path = write(tmp_path, "stage: sft\nlora_rnk: 8\n")
    _, issues = check_config(path)
    assert messages(issues) == [f"{path}:2: lora_rnk: unknown key; did you mean lora_rank?"]


def test_unknown_key_without_suggestion(tmp_path: Path) -> None:
    _, issues = check_config(write(tmp_path, "zzzqqq: 1\n"))
    assert issues[0].message == "unknown key"


def test_known_unsupported_key_is_named(tmp_path: Path) -> None:
    _, issues = check_config(write(tmp_path, "use_unsloth: true\nmixture_of_depths: convert\n"))
    assert [i.key for i in issues] == ["use_unsloth", "mixture_of_depths"]
    assert "key that lmf workbench does not support yet" in issues[0].message
    assert "Mixture-of-Depths needs the mixture-of-depth package" in issues[1].message
    assert all("unknown" not in i.message for i in issues)


def test_unsupported_value_is_explained(tmp_path: Path) -> None:
    _, issues = check_config(write(tmp_path, "infer_backend: ktransformers\n"))
    assert messages(issues) == [
        f"{tmp_path / 'c.yaml'}:1: infer_backend='ktransformers': the KTransformers back end is not supported yet; "
        "use huggingface, vllm or sglang"
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("lora_rank: eight", "lora_rank='eight': expected an integer"),
        ("lora_rank: 0", "lora_rank=0: must be >= 1"),
        ("lora_dropout: 1.5", "lora_dropout=1.5: must be >= 0 and < 1"),
        ("finetuning_type: lorra", "finetuning_type='lorra': expected one of lora, oft, freeze, full"),
        ("stage: dpo2", "stage='dpo2': expected one of pt, sft, rm, ppo, dpo, kto"),
        ("bf16: maybe", "bf16='maybe': expected true or false"),
        ("learning_rate: fast", "learning_rate='fast': expected a number"),
        ("learning_rate: -1", "learning_rate=-1: must be > 0"),
        ("quantization_bit: 3", "quantization_bit=3: expected one of 4, 8 | null"),
        ("cutoff_len: 2.5", "cutoff_len=2.5: expected an integer"),
        ("dataset: [a, b]", "dataset=['a', 'b']: expected str | null"),
        ("top_p: 0", "top_p=0: must be > 0 and <= 1"),
    ],
)
def test_value_errors_name_key_value_and_allowed(tmp_path: Path, line: str, expected: str) -> None:
    path = write(tmp_path, f"do_train: false\n{line}\n")
    _, issues = check_config(path)
    assert messages(issues) == [f"{path}:2: {expected}"]


def test_every_error_of_a_file_at_once(tmp_path: Path) -> None:
    path = write(tmp_path, "lora_rnk: 8\nstage: nope\ncutoff_len: -5\nmask_history: true\ntrain_on_prompt: true\n")
    _, issues = check_config(path, ["learning_rate=x"])
    lines = messages(issues)
    assert len(lines) == 5, lines
    assert lines[0].startswith(f"{path}:1: lora_rnk")
    assert lines[1].startswith(f"{path}:2: stage=")
    assert lines[2].startswith(f"{path}:3: cutoff_len=")
    assert lines[3].startswith(f"{path}:4: mask_history: mask_history cannot be used with train_on_prompt")
    assert lines[4] == "<command line, argument 1>: learning_rate='x': expected a number"
    with pytest.raises(ConfigError) as excinfo:
        load_config(path, ["learning_rate=x"])
    assert len(excinfo.value.issues) == 5


def test_duplicate_key_is_reported(tmp_path: Path) -> None:
    _, issues = check_config(write(tmp_path, "lora_rank: 8\nstage: sft\nlora_rank: 16\n"))
    assert [str(i).split(": ", 1)[1] for i in issues] == ["lora_rank: appears twice (lines 1 and 3)"]


def test_invalid_yaml_reports_line(tmp_path: Path) -> None:
    _, issues = check_config(write(tmp_path, "stage: sft\nlora_rank: [8\ncutoff_len: 3\n"))
    assert len(issues) == 1
    assert "not valid YAML" in issues[0].message
    assert issues[0].line is not None


def test_non_mapping_and_missing_file(tmp_path: Path) -> None:
    _, issues = check_config(write(tmp_path, "- a\n- b\n"))
    assert "must be a mapping" in issues[0].message
    _, issues = check_config(tmp_path / "missing.yaml")
    assert issues[0].message == "file not found"


def test_empty_file_is_all_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "# nothing yet\n"))
    assert config.explicit == {}
    assert config.finetuning.stage == "sft"


def test_json_config(tmp_path: Path) -> None:
    path = write(tmp_path, json.dumps({"stage": "dpo", "pref_beta": 0.2, "lora_rank": "x"}, indent=1), "c.json")
    config, issues = check_config(path)
    assert config.finetuning.stage == "dpo"
    assert messages(issues) == [f"{path}:4: lora_rank='x': expected an integer"]


def test_bad_override_syntax() -> None:
    _, issues = check_config(None, ["lora_rank"])
    assert messages(issues) == ["<command line, argument 1>: lora_rank: expected key=value"]


def test_every_default_is_valid_for_its_field() -> None:
    from lmf_engine.config.fields import coerce

    for info in all_fields():
        assert coerce(info, info.default) == info.default, info.name
        assert info.help and not info.help[0].islower(), info.name


def test_field_names_are_unique_across_groups() -> None:
    names = [info.name for info in all_fields()]
    assert len(names) == len(set(names))
    assert not set(names) & known_unsupported()


def test_yaml11_booleans_map_back_to_choice_words(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "eval_strategy: no\nsave_strategy: no\n"))
    assert config.training.eval_strategy == "no"
    assert config.training.save_strategy == "no"
    _, issues = check_config(write(tmp_path, "finetuning_type: yes\n"))
    assert issues[0].message == "expected one of lora, oft, freeze, full"


@pytest.mark.parametrize(
    ("name", "text", "key"),
    [
        (
            "fsdp.yaml",
            "compute_environment: LOCAL_MACHINE\ndistributed_type: FSDP\nnum_processes: 2\n",
            "accelerate_config",
        ),
        ("ds_z3.json", '{"train_batch_size": "auto", "zero_optimization": {"stage": 3}}', "deepspeed"),
    ],
)
def test_a_launcher_config_given_as_training_config_says_how_to_pass_it(
    tmp_path: Path, name: str, text: str, key: str
) -> None:
    path = tmp_path / name
    path.write_text(text)
    _, issues = check_config(path)
    assert len(issues) == 1
    assert "not a training config" in issues[0].message and f"`{key}: {path}`" in issues[0].message


def test_whole_numbers_past_64_bits_are_refused_before_the_run() -> None:
    _, issues = check_config(values={"max_steps": 2**63, "seed": -(2**63) - 1, "save_steps": 2**63 - 1})
    assert sorted(issue.key for issue in issues) == ["max_steps", "seed"]
    assert all("64-bit integer" in issue.message for issue in issues)


def test_infinite_and_nan_numbers_are_refused() -> None:
    _, issues = check_config(
        values={"learning_rate": float("inf"), "num_train_epochs": "1e400", "warmup_ratio": "nan"}
    )
    assert sorted(issue.key for issue in issues) == ["learning_rate", "num_train_epochs", "warmup_ratio"]
    assert all("must be a finite number" in issue.message for issue in issues)


def test_yaml_merge_keys_are_read_as_pyyaml_reads_them(tmp_path: Path) -> None:
    path = tmp_path / "merged.yaml"
    path.write_text(
        "<<: [{learning_rate: 1.0e-4, seed: 7}, {seed: 8, num_train_epochs: 2.0}]\nstage: sft\nnum_train_epochs: 5.0\n"
    )
    config = load_config(path)
    expected = yaml.safe_load(path.read_text())
    assert expected["seed"] == 8  # PyYAML lets a later merged mapping win; so do we
    for key in ("learning_rate", "seed", "num_train_epochs", "stage"):
        assert config.get(key) == expected[key]
    twice = tmp_path / "twice.yaml"
    twice.write_text("<<: {seed: 1}\nseed: 2\nseed: 3\n")
    _, issues = check_config(twice)
    assert [(i.key, i.line) for i in issues] == [("seed", 3)] and "appears twice (lines 2 and 3)" in issues[0].message


def test_an_alias_bomb_is_refused_quickly_and_long_values_are_quoted_cut(tmp_path: Path) -> None:
    levels = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 7)]
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join([*levels, "lora_target: *a6", f"cutoff_len: {'9' * 5000}x"]) + "\n")
    _, issues = check_config(path)  # expanding it would take minutes and gigabytes
    refused = {i.key for i in issues if "expands to more than" in i.message}
    assert {"lora_target", "a6"} <= refused
    long_value = next(str(i) for i in issues if i.key == "cutoff_len")
    assert len(long_value) < 400 and "more characters)" in long_value
