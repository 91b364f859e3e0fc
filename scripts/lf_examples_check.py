"""How many of LLaMA-Factory's example YAMLs the config loader accepts, and why each other one is refused.

Usage: .venv/bin/python scripts/lf_examples_check.py [--examples ../shared/lmf-examples]

Launcher files (accelerate / DeepSpeed configs) are counted apart: they are not training configs.
"""

import argparse
from pathlib import Path

from lmf_engine.config.launcher_files import launcher_kind
from lmf_engine.config.loader import check_config
from lmf_engine.config.source import RawValues, read_file

DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "lmf-examples"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=Path, default=DEFAULT, help="LLaMA-Factory's examples folder")
    args = parser.parse_args()
    accepted, refused, launchers = 0, [], 0
    for path in sorted(args.examples.rglob("*.yaml")):
        raw = RawValues()
        read_file(path, raw)
        if launcher_kind(raw.values) is not None:
            launchers += 1
            continue
        _, issues = check_config(path)
        if issues:
            refused.append((path, "; ".join(f"{issue.key}: {issue.message}" for issue in issues)))
        else:
            accepted += 1
    print(f"training/inference YAMLs accepted: {accepted} of {accepted + len(refused)} (launcher files: {launchers})")
    for path, reason in refused:
        print(f"  {path.relative_to(args.examples)}: {reason[:300]}")


if __name__ == "__main__":
    main()
