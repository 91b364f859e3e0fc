"""``lmf-engine api`` as a user runs it: a subprocess on loopback, guarded by API_KEY, stopped by Ctrl-C."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import openai
import pytest

from lmf_engine.api.server import free_port


@pytest.mark.slow
def test_serve_the_tiny_model_in_a_subprocess(tmp_path: Path, tiny_model_dir: Path) -> None:
    config = tmp_path / "api.yaml"
    config.write_text(f"model_name_or_path: {tiny_model_dir}\ntemplate: qwen\nmax_new_tokens: 8\n")
    port = free_port()
    env = {**os.environ, "API_KEY": "subprocess-key", "API_PORT": str(port)}
    env.pop("API_HOST", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "lmf_engine", "api", str(config), "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": "Bearer subprocess-key"}
    try:
        deadline = time.monotonic() + 120
        while True:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the server did not start"
            try:
                if httpx.get(f"{url}/v1/models", headers=headers, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        assert httpx.get(f"{url}/v1/models").status_code == 401
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="subprocess-key")
        chunks = list(
            client.chat.completions.create(model="m", messages=[{"role": "user", "content": "Hi"}], stream=True)
        )
        assert chunks[-1].choices[0].finish_reason in ("stop", "length")
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr  # the usual exit code after Ctrl-C, without a traceback
    assert f"on http://127.0.0.1:{port}/v1" in stderr
    assert "Traceback" not in stderr
