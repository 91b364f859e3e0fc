"""Write golden outputs of LLaMA-Factory 0.9.5's templates and dataset processors, to test ours against.

Run with the interpreter that has ``llamafactory`` installed (not the project venv)::

    /work/lf-venv/bin/python scripts/lf_goldens.py \\
        --tokenizer tests/fixtures/templates/tokenizer --out tests/fixtures/templates/goldens.json.gz

For every template x sample x option set x stage (sft, rm, ppo/unsupervised, kto, pt, packed sft) it records
LLaMA-Factory's ids and labels (or the error it raised), the tokenizer after ``get_template_and_fix_tokenizer``
(eos, pad, stop ids, the jinja chat template), tool-call extraction per tool format and the templates parsed from
jinja chat templates (``template: hf``). ``--hash`` stores a SHA-1 per case instead of the ids (for a large real
tokenizer), ``--full`` names templates whose cases are kept in full even then. The llama3 tool prompt's date is
frozen to ``--date``. Text only: multimodal templates run with LLaMA-Factory's base mm plugin.
"""

import argparse
import datetime as dt
import gzip
import importlib.machinery
import json
import os
import sys
import types
from pathlib import Path
from typing import Any

from lf_goldens_runner import FULL, REDUCED, Runner, digest, extraction_cases

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "templates"


def setup_llamafactory(date: str) -> dict[str, Any]:
    """Import LLaMA-Factory's data modules (torchaudio stubbed: text only) with the tool prompt date frozen."""
    os.environ.setdefault("LLAMAFACTORY_VERBOSITY", "ERROR")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    stub = types.ModuleType("torchaudio")
    stub.__spec__ = importlib.machinery.ModuleSpec("torchaudio", None)
    sys.modules.setdefault("torchaudio", stub)
    from llamafactory.data import processor as proc
    from llamafactory.data import template as tpl
    from llamafactory.data import tool_utils
    from llamafactory.data.mm_plugin import get_mm_plugin
    from llamafactory.hparams import DataArguments

    frozen = dt.datetime.strptime(date, "%d %b %Y")

    class FrozenDatetime(dt.datetime):
        @classmethod
        def now(cls, tz: Any = None) -> "FrozenDatetime":
            return cls.fromtimestamp(frozen.timestamp(), tz)

    tool_utils.datetime = FrozenDatetime
    return {"tpl": tpl, "proc": proc, "tools": tool_utils, "DataArguments": DataArguments, "mm": get_mm_plugin}


def hash_cases(data: dict[str, Any], keep: set[str]) -> None:
    """Replace ids by their digest, except in the templates named in ``keep``."""
    for name, entry in data["templates"].items():
        if name in keep:
            continue
        for case in entry["cases"]:
            if "rows" in case:
                case["rows"] = {row: digest(result) for row, result in case["rows"].items()}
            else:
                case["out"] = digest(case["out"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tokenizer", default=str(FIXTURES / "tokenizer"))
    parser.add_argument("--samples", default=str(FIXTURES / "samples.json"))
    parser.add_argument("--chat-templates", default=str(FIXTURES / "chat_templates.json"))
    parser.add_argument("--out", default=str(FIXTURES / "goldens.json.gz"))
    parser.add_argument("--templates", default="", help="comma-separated subset (default: every template)")
    parser.add_argument("--date", default="26 Jul 2024")
    parser.add_argument("--hash", action="store_true", help="store a digest per case instead of the ids")
    parser.add_argument("--full", default="", help="with --hash: templates whose cases stay in full")
    parser.add_argument("--profile", choices=("full", "reduced"), default="full", help="option matrix size")
    parser.add_argument("--no-hf", action="store_true", help="skip the jinja (template: hf) cases")
    args = parser.parse_args()

    lf = setup_llamafactory(args.date)
    samples = json.loads(Path(args.samples).read_text())
    runner = Runner(lf, args.tokenizer, samples, FULL if args.profile == "full" else REDUCED)
    names = [n for n in args.templates.split(",") if n] or list(runner.pristine)
    import llamafactory

    data: dict[str, Any] = {
        "meta": {"llamafactory": llamafactory.__version__, "date": args.date, "samples": [s["name"] for s in samples]},
        "templates": {},
        "hf": {},
        "tools": extraction_cases(lf, samples) if args.profile == "full" else {},
    }
    for name in names:
        print(name, file=sys.stderr)
        data["templates"][name] = runner.template_cases(name, runner.tokenizer)
    hf_specs = {} if args.no_hf else json.loads(Path(args.chat_templates).read_text())
    for key, spec in hf_specs.items():

        def factory(add_bos_token: bool | None = None, spec: dict = spec) -> Any:
            flag = spec["add_bos_token"] if add_bos_token is None else add_bos_token
            return runner.tokenizer(add_bos_token=flag, chat_template=spec["chat_template"])

        entry = runner.template_cases(None, factory)
        entry["cases"] = [c for c in entry["cases"] if c["stage"] in ("sft", "rm")]
        data["hf"][key] = entry
    if args.hash:
        hash_cases(data, {n for n in args.full.split(",") if n})
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    Path(args.out).write_bytes(gzip.compress(raw, mtime=0) if args.out.endswith(".gz") else raw)
    print(f"wrote {args.out}: {len(raw)} bytes raw", file=sys.stderr)


if __name__ == "__main__":
    main()
