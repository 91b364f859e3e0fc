#!/usr/bin/env bash
# Create the audio reference venv (../lf-audio-venv by default): LLaMA-Factory 0.9.5 with torch 2.8 and torchaudio
# 2.8, whose torchaudio.load (the soundfile back end) LLaMA-Factory reads audio with; torchaudio 2.9 and newer load
# through torchcodec, which needs FFmpeg's shared libraries. pip takes CUDA builds of torch and torchaudio from
# PyPI (several GB). The other packages are the text reference venv's (benchmarks/reference_venv.sh), pinned to the
# same versions. Used by scripts/lf_mm_goldens.py (qwen2_audio_* cases) and scripts/lf_method_goldens.py (vlm_audio*).
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
text_venv="${LMF_REFERENCE_VENV:-$here/lf-venv}"
venv="${LMF_REFERENCE_AUDIO_VENV:-$here/lf-audio-venv}"
[ -x "$text_venv/bin/pip" ] || "$(dirname "$0")/reference_venv.sh"
python3 -m venv "$venv"
"$venv/bin/pip" install -q torch==2.8.0 torchaudio==2.8.0 soundfile
"$text_venv/bin/pip" freeze | grep -v -E '^(torch|torchvision|torchaudio)==' > "$venv/text-reference.txt"
"$venv/bin/pip" install -q --no-deps -r "$venv/text-reference.txt"
echo "audio reference venv ready: $venv"
