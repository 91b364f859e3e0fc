#!/usr/bin/env bash
# Create the multimodal reference venv (../lf-mm-venv by default): LLaMA-Factory 0.9.5 with torch and torchvision.
# transformers 5 builds a Qwen2-VL processor only with torchvision (its video processor needs it, even for images),
# so LLaMA-Factory's multimodal path needs it; on this x86_64 machine pip takes torch 2.14.1 and torchvision 0.29.1
# (a CUDA build, about 5.5 GB) from the local wheel store. The other packages are the text reference venv's
# (benchmarks/reference_venv.sh), pinned to the same versions. Used by scripts/lf_mm_goldens.py,
# scripts/lf_method_goldens.py (vlm_* cases) and benchmarks/mm_preprocess.py.
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
text_venv="${LMF_REFERENCE_VENV:-$here/lf-venv}"
venv="${LMF_REFERENCE_MM_VENV:-$here/lf-mm-venv}"
[ -x "$text_venv/bin/pip" ] || "$(dirname "$0")/reference_venv.sh"
python3 -m venv "$venv"
"$venv/bin/pip" install -q torch==2.14.1 torchvision==0.29.1
"$text_venv/bin/pip" freeze | grep -v -E '^(torch|torchvision|torchaudio)==' > "$venv/text-reference.txt"
"$venv/bin/pip" install -q -r "$venv/text-reference.txt"
# LLaMA-Factory imports torchaudio at start-up; without a build for this torch an empty package stands in for it.
if ! "$venv/bin/python" -c 'import torchaudio' 2>/dev/null; then
  site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
  mkdir -p "$site/torchaudio" && : > "$site/torchaudio/__init__.py"
fi
echo "multimodal reference venv ready: $venv"
