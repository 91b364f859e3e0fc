"""Start-up time of ``lmf-engine version`` and ``lmf-engine config validate`` against ``llamafactory-cli version``.

Usage: python benchmarks/startup.py [--repeat N] [--reference-venv DIR]

The reference is LLaMA-Factory 0.9.5 in its own venv (benchmarks/reference_venv.sh creates it; default
../lf-venv or $LMF_REFERENCE_VENV). Prints a table of medians and each command's speed-up over the reference.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT.parent / "shared" / "lmf-examples" / "train_lora" / "qwen3_lora_sft.yaml"


def timed(cmd: list[str], repeat: int, cwd: Path) -> float:
    """Median wall time of ``cmd`` over ``repeat`` runs, after one warm-up run."""
    subprocess.run(cmd, cwd=cwd, capture_output=True, check=True)
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, capture_output=True, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    default_ref = os.environ.get("LMF_REFERENCE_VENV", str(ROOT.parent / "lf-venv"))
    parser.add_argument("--reference-venv", default=default_ref)
    args = parser.parse_args()

    engine = shutil.which("lmf-engine", path=str(Path(sys.executable).parent)) or "lmf-engine"
    lf_cli = Path(args.reference_venv) / "bin" / "llamafactory-cli"
    with tempfile.TemporaryDirectory() as tmp:
        cwd = Path(tmp)
        config = EXAMPLE if EXAMPLE.exists() else cwd / "c.yaml"
        if not EXAMPLE.exists():
            config.write_text("stage: sft\nfinetuning_type: lora\nlora_rank: 8\nlearning_rate: 1.0e-4\n")
        rows = [
            ("lmf-engine version", timed([engine, "version"], args.repeat, cwd)),
            ("lmf-engine config validate", timed([engine, "config", "validate", str(config)], args.repeat, cwd)),
        ]
        reference = None
        if lf_cli.exists():
            reference = timed([str(lf_cli), "version"], max(3, args.repeat // 2), cwd)
            rows.append(("llamafactory-cli version (0.9.5)", reference))
    print(f"{'command':<36} {'median s':>9} {'vs llamafactory-cli version':>28}")
    for name, seconds in rows:
        ratio = f"{reference / seconds:.1f}x faster" if reference and "llamafactory" not in name else "-"
        print(f"{name:<36} {seconds:>9.3f} {ratio:>28}")
    if reference is None:
        print(f"(reference not found at {lf_cli}; run benchmarks/reference_venv.sh)")


if __name__ == "__main__":
    main()
