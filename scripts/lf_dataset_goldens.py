"""Write tests/fixtures/datasets/lf_goldens.json: LLaMA-Factory's own conversion of the shared demo datasets.

Run with the reference environment (LLaMA-Factory 0.9.5 and its ``datasets``)::

    /work/lf-venv/bin/python scripts/lf_dataset_goldens.py [--data ../shared/lmf-data]

For every text dataset of dataset_info.json with a local file, LLaMA-Factory's ``_load_single_dataset`` (read +
``align_dataset``) gives the rows; rows its processor would drop for the dataset's natural stage are listed by
index, and the rest are hashed. Scenarios replay ``_get_merged_dataset`` + ``split_dataset`` (mixing, sampling,
validation splits, streaming) and hash the resulting train/eval rows in order. LLaMA-Factory's processors are
not imported (they need torchaudio); a stub stands in for that module.
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile
import types
from pathlib import Path
from types import SimpleNamespace
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "tests" / "fixtures" / "datasets" / "lf_goldens.json"
SYNTHETIC = ROOT / "tests" / "fixtures" / "datasets" / "synthetic"  # edge cases: broken rows, openai, csv, folder
MEDIA = ("images", "videos", "audios")

# Extra dataset_info.json entries for the scenarios (file names relative to the shared data folder).
EXTRA_ENTRIES: dict[str, dict[str, Any]] = {
    "alpaca_ns": {"file_name": "alpaca_en_demo.json", "num_samples": 1200},
    "identity_ns": {"file_name": "identity.json", "num_samples": 30},
}

# Config values (lmf/LLaMA-Factory keys) of each scenario; stage is the lmf stage (dpo loads like rm).
SCENARIOS: dict[str, dict[str, Any]] = {
    "concat_val_fraction": {"stage": "sft", "dataset": "identity,alpaca_en_demo", "val_size": 0.1},
    "interleave_under_probs": {
        "stage": "sft",
        "dataset": "identity,alpaca_en_demo",
        "mix_strategy": "interleave_under",
        "interleave_probs": "0.3,0.7",
        "seed": 7,
    },
    "interleave_over_max_samples_val_count": {
        "stage": "sft",
        "dataset": "identity,glaive_toolcall_en_demo",
        "mix_strategy": "interleave_over",
        "max_samples": 50,
        "val_size": 10,
    },
    "num_samples": {"stage": "sft", "dataset": "identity_ns,alpaca_ns", "val_size": 0.05, "seed": 11},
    "eval_dataset": {"stage": "sft", "dataset": "identity", "eval_dataset": "alpaca_zh_demo", "max_samples": 40},
    "eval_each": {
        "stage": "sft",
        "dataset": "identity",
        "eval_dataset": "identity,alpaca_en_demo",
        "eval_on_each_dataset": True,
        "max_samples": 20,
    },
    "streaming_concat": {
        "stage": "sft",
        "dataset": "identity,alpaca_en_demo",
        "streaming": True,
        "val_size": 20,
        "dataloader_num_workers": 2,
    },
    "streaming_interleave": {
        "stage": "sft",
        "dataset": "identity,alpaca_zh_demo",
        "streaming": True,
        "mix_strategy": "interleave_under",
        "interleave_probs": "0.5,0.5",
        "val_size": 5,
        "dataloader_num_workers": 1,
    },
    "dpo_split": {"stage": "dpo", "dataset": "dpo_en_demo,dpo_zh_demo", "val_size": 0.2, "seed": 3},
    "kto_split": {"stage": "kto", "dataset": "kto_en_demo", "val_size": 0.1},
    "pt_interleave": {"stage": "pt", "dataset": "wiki_demo,c4_demo", "mix_strategy": "interleave_under"},
}


def import_llamafactory_data() -> types.SimpleNamespace:
    """Import LLaMA-Factory's data modules without its package __init__ (which needs torchaudio)."""
    import llamafactory

    pkg = types.ModuleType("llamafactory.data")
    pkg.__path__ = [os.path.join(os.path.dirname(llamafactory.__file__), "data")]
    sys.modules["llamafactory.data"] = pkg
    processor = types.ModuleType("llamafactory.data.processor")
    for name in ("Feedback", "PackedSupervised", "Pairwise", "Pretrain", "Supervised", "Unsupervised"):
        setattr(processor, f"{name}DatasetProcessor", None)
    sys.modules["llamafactory.data.processor"] = processor
    from llamafactory.data import data_utils, loader, parser

    return types.SimpleNamespace(loader=loader, parser=parser, data_utils=data_utils)


def natural_stage(entry: dict[str, Any]) -> str:
    """The stage a demo dataset is made for."""
    columns = entry.get("columns", {})
    if entry.get("ranking"):
        return "rm"
    if columns.get("kto_tag"):
        return "kto"
    if "columns" in entry and entry.get("formatting", "alpaca") == "alpaca" and not columns.get("response"):
        return "pt"
    return "sft"


def lf_stage(stage: str) -> str:
    return "rm" if stage == "dpo" else stage


def dropped_by_processor(row: dict[str, Any], stage: str) -> bool:
    """LLaMA-Factory's processors' "Dropped invalid example" conditions."""
    n_prompt, n_response = len(row["_prompt"]), len(row["_response"])
    if stage == "pt":
        return n_prompt == 0
    if stage == "sft":
        return n_prompt % 2 != 1 or n_response != 1
    if stage in ("rm", "kto"):
        return n_prompt % 2 != 1 or n_response < 2
    return n_prompt % 2 != 1


def normalize(row: dict[str, Any], data_dir: str = "") -> dict[str, Any]:
    """The compared columns; None system/tools read as empty, as every template treats them; media paths when the
    row has media, relative to ``data_dir`` (so that the golden holds wherever the shared data lies)."""
    return {
        "_prompt": [{"role": m["role"], "content": m["content"]} for m in row["_prompt"]],
        "_response": [{"role": m["role"], "content": m["content"]} for m in row["_response"]],
        "_system": row["_system"] or "",
        "_tools": row["_tools"] or "",
        **{
            f"_{kind}": [os.path.relpath(p, data_dir) for p in row[f"_{kind}"]]
            for kind in MEDIA
            if row.get(f"_{kind}")
        },
    }


def digest(rows: list[dict[str, Any]]) -> str:
    text = json.dumps(rows, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def make_args(values: dict[str, Any], dataset_dir: str, cache_dir: str) -> tuple:
    probs = values.get("interleave_probs")
    model_args = SimpleNamespace(cache_dir=cache_dir, hf_hub_token=None, ms_hub_token=None, om_hub_token=None)
    data_args = SimpleNamespace(
        dataset_dir=dataset_dir,
        media_dir=dataset_dir,
        streaming=values.get("streaming", False),
        buffer_size=values.get("buffer_size", 16384),
        preprocessing_num_workers=None,
        overwrite_cache=False,
        max_samples=values.get("max_samples"),
        mix_strategy=values.get("mix_strategy", "concat"),
        interleave_probs=[float(p) for p in probs.split(",")] if probs else None,
        val_size=values.get("val_size", 0.0),
        eval_on_each_dataset=values.get("eval_on_each_dataset", False),
    )
    training_args = SimpleNamespace(
        local_process_index=0,
        dataloader_num_workers=values.get("dataloader_num_workers", 0),
        seed=values.get("seed", 42),
    )
    return model_args, data_args, training_args


def summarize(dataset: Any, stage: str) -> dict[str, Any]:
    rows = [normalize(r) for r in dataset]
    kept = [r for r in rows if not dropped_by_processor(r, stage)]
    return {"rows": len(kept), "sha256": digest(kept), "head": [digest([r])[:12] for r in kept[:5]]}


def dataset_goldens(lf: Any, info: dict[str, Any], data_dir: str, cache_dir: str) -> dict[str, Any]:
    out = {}
    for name, entry in info.items():
        if "file_name" not in entry:
            continue
        stage = natural_stage(entry)
        model_args, data_args, training_args = make_args({}, data_dir, cache_dir)
        (attr,) = lf.parser.get_dataset_list([name], data_dir)
        dataset = lf.loader._load_single_dataset(attr, model_args, data_args, training_args)
        rows = [normalize(r, data_dir) for r in dataset]
        dropped = [i for i, r in enumerate(rows) if dropped_by_processor(r, stage)]
        kept = [r for i, r in enumerate(rows) if i not in set(dropped)]
        order_free = os.path.isdir(os.path.join(data_dir, entry["file_name"]))  # a folder lists in any order
        hashed = sorted(kept, key=lambda r: json.dumps(r, sort_keys=True)) if order_free else kept
        out[name] = {
            "stage": stage,
            "rows": len(rows),
            "dropped": dropped,
            "sha256": digest(hashed),
            "first": kept[:3],
        }
        if order_free:
            out[name]["order_free"] = True
        print(f"{name}: {len(rows)} rows ({len(dropped)} dropped for {stage})")
    return out


def scenario_info(info: dict[str, Any], data_dir: str) -> dict[str, Any]:
    """dataset_info.json plus the extra entries, with absolute file names (scenarios use a temporary folder)."""
    entries = {**info, **EXTRA_ENTRIES}
    absolute = os.path.abspath(data_dir)
    return {
        k: {**v, "file_name": os.path.join(absolute, v["file_name"])} if "file_name" in v else v
        for k, v in entries.items()
    }


def scenario_goldens(lf: Any, info: dict[str, Any], data_dir: str, cache_dir: str) -> dict[str, Any]:
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "dataset_info.json").write_text(json.dumps(scenario_info(info, data_dir)))
        out = {}
        for name, values in SCENARIOS.items():
            model_args, data_args, training_args = make_args(values, tmp, cache_dir)
            stage = lf_stage(values["stage"])
            np.random.seed(training_args.seed)  # what transformers.set_seed does before LLaMA-Factory loads data
            names = values["dataset"].split(",")
            evals = values.get("eval_dataset")
            train = lf.loader._get_merged_dataset(names, model_args, data_args, training_args, stage)
            eval_ds = lf.loader._get_merged_dataset(
                evals.split(",") if evals else None,
                model_args,
                data_args,
                training_args,
                stage,
                return_dict=data_args.eval_on_each_dataset,
            )
            train_dict, eval_dict = lf.data_utils.split_dataset(train, eval_ds, data_args, seed=training_args.seed)
            out[name] = {"values": values, **{k: summarize(v, stage) for k, v in {**train_dict, **eval_dict}.items()}}
            print(name, {k: v["rows"] for k, v in out[name].items() if k != "values"})
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(ROOT.parent / "shared" / "lmf-data"))
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    lf = import_llamafactory_data()
    info = json.loads(Path(args.data, "dataset_info.json").read_text())
    synthetic = json.loads(Path(SYNTHETIC, "dataset_info.json").read_text())
    with tempfile.TemporaryDirectory() as cache_dir:
        goldens = {
            "source": "LLaMA-Factory 0.9.5 (_load_single_dataset / _get_merged_dataset / split_dataset)",
            "extra_entries": EXTRA_ENTRIES,
            "datasets": dataset_goldens(lf, info, args.data, cache_dir),
            "synthetic": dataset_goldens(lf, synthetic, str(SYNTHETIC), cache_dir),
            "scenarios": scenario_goldens(lf, info, args.data, cache_dir),
        }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(goldens, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
