#!/usr/bin/env bash
# The monitor on a real NVIDIA GPU, on a machine where the project is installed in .venv (make install):
#   1. the real-NVML tests (tests/engine/monitor/test_monitor_nvml_real.py);
#   2. a short LoRA run of the demo on the GPU (GPU_CHECK_STEPS steps, default 30, in GPU_CHECK_WORKSPACE, default
#      /tmp/gpu-check-ws, system samples every second), watched by `lmf-engine monitor --count 5 --run gpu_check`;
#   3. `lmf-engine runs show gpu_check` with the run's system summary, checked to hold GPU readings.
# Usage: scripts/gpu_check.sh     (exit 0: all passed; 1: a check failed; 2: no GPU or no installed project)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BIN=$ROOT/.venv/bin
WORKSPACE=${GPU_CHECK_WORKSPACE:-/tmp/gpu-check-ws}
STEPS=${GPU_CHECK_STEPS:-30}
RUN=gpu_check

if ! command -v nvidia-smi >/dev/null 2>&1; then
    echo "gpu_check: nvidia-smi not found: this check needs a machine with an NVIDIA GPU and its driver" >&2
    exit 2
fi
if [ ! -x "$BIN/lmf-engine" ]; then
    echo "gpu_check: $BIN/lmf-engine not found: install the project first (make install)" >&2
    exit 2
fi
nvidia-smi -L

echo "== 1. real NVML tests"
(cd "$ROOT" && "$BIN/python" -m pytest -q -rs tests/engine/monitor/test_monitor_nvml_real.py)

echo "== 2. demo LoRA run on the GPU ($STEPS steps) in $WORKSPACE"
rm -rf "$WORKSPACE"
"$BIN/lmf-engine" demo init "$WORKSPACE"
cd "$WORKSPACE"
LMF_SYSTEM_INTERVAL=1 "$BIN/lmf-engine" train configs/sft_lora.yaml \
    use_cpu=false max_steps="$STEPS" save_steps="$STEPS" output_dir="runs/$RUN" --detach

# Watch once the run's own processes show on a GPU (or it ended), for at most two minutes.
"$BIN/python" - "runs/$RUN" <<'EOF'
import sys
import time
from pathlib import Path

from lmf_engine.monitor.records import read_samples
from lmf_engine.runs.store import open_run

run_dir = Path(sys.argv[1])
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    samples, _ = read_samples(run_dir / "system.jsonl")
    if any(p.run for s in samples for g in s.gpus for p in g.processes) or not open_run(run_dir).active:
        break
    time.sleep(0.5)
EOF
"$BIN/lmf-engine" monitor --count 5 --interval 1 --run "$RUN"

set +e
"$BIN/lmf-engine" runs logs "$RUN" --follow -n 3
followed=$?
set -e

echo "== 3. the run's system summary"
"$BIN/lmf-engine" runs show "$RUN"
"$BIN/lmf-engine" runs show "$RUN" --json >"$WORKSPACE/show.json"
"$BIN/python" - "$WORKSPACE/show.json" <<'EOF'
import json
import sys

run = json.load(open(sys.argv[1]))
system = run["system"] or {}
devices = system.get("devices") or []
problems = []
if run["state"] != "finished":
    problems.append(f"the run is {run['state']}: {run.get('error')}")
if not devices:
    problems.append(f"system.jsonl holds no GPU reading ({system.get('gpu_error')})")
elif system.get("peak_gpu_mem_mb") is None:
    problems.append("no peak GPU memory recorded")
if devices and not any(d.get("peak_run_mem_mb") for d in devices):
    print("gpu_check: note: no GPU process was marked as the run's (pids hidden by a container's pid namespace?)")
for problem in problems:
    print(f"gpu_check: FAILED: {problem}", file=sys.stderr)
sys.exit(1 if problems else 0)
EOF
if [ "$followed" -ne 0 ]; then
    echo "gpu_check: FAILED: following the run ended with exit code $followed" >&2
    exit 1
fi
echo "gpu_check: all passed"
