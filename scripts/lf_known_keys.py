"""Write the names of every configuration key LLaMA-Factory knows, grouped, to lmf_engine/config/lf_keys.json.

Run it with the Python of a separate venv that has ``llamafactory`` installed (the reference), e.g.::

    /path/to/lf-venv/bin/python scripts/lf_known_keys.py

The file lets the engine tell a key LLaMA-Factory accepts but lmf workbench does not support yet
from a key nobody knows (a typo).
"""

import dataclasses
import importlib.metadata
import json
import pathlib

from llamafactory.hparams import (
    DataArguments,
    FinetuningArguments,
    GeneratingArguments,
    ModelArguments,
    TrainingArguments,
)
from llamafactory.hparams.evaluation_args import EvaluationArguments

GROUPS = {
    "model": ModelArguments,
    "data": DataArguments,
    "finetuning": FinetuningArguments,
    "training": TrainingArguments,
    "generating": GeneratingArguments,
    "evaluation": EvaluationArguments,
}

# Keys that LLaMA-Factory's own examples still use but that came from older transformers releases.
LEGACY = ["fsdp_transformer_layer_cls_to_wrap"]


def main() -> None:
    seen: set[str] = set()
    out: dict[str, list[str]] = {}
    for group, cls in GROUPS.items():
        names = sorted(f.name for f in dataclasses.fields(cls) if f.init and f.name not in seen)
        seen.update(names)
        out[group] = names
    out["legacy"] = sorted(set(LEGACY) - seen)
    out["_version"] = [importlib.metadata.version("llamafactory")]
    target = pathlib.Path(__file__).resolve().parents[1] / "lmf_engine" / "config" / "lf_keys.json"
    target.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {sum(len(v) for v in out.values())} keys to {target}")


if __name__ == "__main__":
    main()
