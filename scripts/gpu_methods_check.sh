#!/usr/bin/env bash
# The GPU-only training paths on a real NVIDIA GPU, each a short sft of the demo's tiny model in a fresh workspace:
#   1. qlora: LoRA on a 4-bit bitsandbytes base;       2. qoft: OFT on a 4-bit bitsandbytes base (peft's QOFT);
#   3. bf16:  full fine-tuning in bf16 (the reference); 4. fp8: the same with fp8: true, fp8_backend: torchao.
# Each must finish with finite losses; fp8 must say it trained in FP8 and stay within 5 % of bf16's losses.
# Usage: scripts/gpu_methods_check.sh    (PYTHON: the interpreter with the project, default .venv/bin/python;
#        GPU_CHECK_WORKSPACE: default /tmp/gpu-methods-ws; GPU_CHECK_STEPS: default 10)
# Exit 0: all passed; 1: a check failed; 2: no GPU.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
WORKSPACE=${GPU_CHECK_WORKSPACE:-/tmp/gpu-methods-ws}
STEPS=${GPU_CHECK_STEPS:-10}

if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "gpu_methods_check: nvidia-smi not found: this check needs a machine with an NVIDIA GPU" >&2
    exit 2
fi
nvidia-smi -L
rm -rf "$WORKSPACE"
"$PYTHON" -m lmf_engine demo init "$WORKSPACE" >/dev/null
cd "$WORKSPACE"

COMMON=(use_cpu=false bf16=true max_steps="$STEPS" save_strategy=no val_size=0 eval_strategy=no plot_loss=false)
train() {  # name, overrides...
    local name=$1
    shift
    local start=$SECONDS
    set +e
    "$PYTHON" -m lmf_engine train configs/sft_lora.yaml "${COMMON[@]}" output_dir="runs/$name" "$@" >"$name.log" 2>&1
    echo "$name $? $((SECONDS - start))" >>results.txt
    set -e
}

: >results.txt
train qlora quantization_bit=4
train qoft finetuning_type=oft oft_block_size=16 quantization_bit=4
train bf16 finetuning_type=full learning_rate=1e-4
train fp8 finetuning_type=full learning_rate=1e-4 fp8=true fp8_backend=torchao

"$PYTHON" - <<'EOF'
import json
import math
import sys
from pathlib import Path

problems = []
losses = {}
print(f"{'run':<6} {'exit':>4} {'seconds':>7} {'state':<9} {'steps':>5} {'first loss':>10} {'last loss':>10}")
for line in Path("results.txt").read_text().splitlines():
    name, code, seconds = line.split()
    run = Path("runs") / name
    state = json.loads((run / "run.json").read_text()).get("state") if (run / "run.json").exists() else "-"
    log = run / "trainer_log.jsonl"
    values = [json.loads(x)["loss"] for x in log.read_text().splitlines() if '"loss"' in x] if log.exists() else []
    losses[name] = values
    first, last = (f"{values[0]:.4f}", f"{values[-1]:.4f}") if values else ("-", "-")
    print(f"{name:<6} {code:>4} {seconds:>7} {state:<9} {len(values):>5} {first:>10} {last:>10}")
    if code != "0" or state != "finished" or not values or not all(math.isfinite(v) for v in values):
        tail = (run / "stdout.log").read_text()[-2000:] if (run / "stdout.log").exists() else Path(f"{name}.log").read_text()[-2000:]
        problems.append(f"{name}: exit {code}, state {state}, {len(values)} losses\n{tail}")
stdout = Path("runs/fp8/stdout.log")
if stdout.exists() and "FP8 mixed precision with the torchao backend" not in stdout.read_text():
    problems.append("fp8: the run did not report training in FP8")
if losses.get("fp8") and losses.get("bf16"):
    gap = max(abs(a - b) / abs(b) for a, b in zip(losses["fp8"], losses["bf16"]))
    print(f"fp8 against bf16: largest relative loss difference {gap:.4f}")
    if gap > 0.05:
        problems.append(f"fp8: losses differ from bf16's by up to {gap:.1%}")
for problem in problems:
    print(f"gpu_methods_check: FAILED: {problem}", file=sys.stderr)
print("gpu_methods_check: all passed" if not problems else "gpu_methods_check: failed")
sys.exit(1 if problems else 0)
EOF
