"""Bounded load on ``lmf-engine api``: requests/s, p50/p99 latency and errors, on loopback with the tiny model.

Usage: python benchmarks/api.py [--model DIR] [--requests 200] [--concurrency 8] [--max-tokens 16] [--stream]
                                [--threads 1]

Starts the real server (``python -m lmf_engine api CONFIG``) on a free loopback port with an API key, waits until it
answers, then sends ``--requests`` chat completions with at most ``--concurrency`` in flight (httpx, async) and
stops the server. Latency is per request, from send to the last byte (``[DONE]`` when streaming). The engine answers
one request at a time, so latency grows with concurrency while requests/s stays that of one generation stream.
Without ``--model`` the tiny test model is built in a temporary folder. ``--threads`` is the server's torch CPU
threads (OMP_NUM_THREADS): on a small shared machine, OpenMP threads spin-waiting for each other make a CPU server
several times slower, which measures the machine rather than the server.
"""

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

KEY = "benchmark-key"


def start_server(model: Path, folder: Path, port: int, max_tokens: int, threads: int) -> subprocess.Popen[bytes]:
    config = folder / "api.yaml"
    config.write_text(f"model_name_or_path: {model}\ntemplate: qwen\nmax_new_tokens: {max_tokens}\n")
    env = {**os.environ, "API_KEY": KEY, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, "-m", "lmf_engine", "api", str(config), "--port", str(port), "--log-level", "warning"]
    return subprocess.Popen(command, env=env, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float = 180.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with code {process.returncode}")
        try:
            if httpx.get(f"{url}/v1/models", headers={"Authorization": f"Bearer {KEY}"}, timeout=2).is_success:
                return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("the server did not start in time")


async def load(url: str, requests: int, concurrency: int, stream: bool) -> tuple[list[float], list[str], float, int]:
    """(latencies, errors, wall seconds, completion tokens) of the whole run."""
    import httpx

    gate = asyncio.Semaphore(concurrency)
    latencies: list[float] = []
    errors: list[str] = []
    tokens = 0
    body = {"model": "tiny", "messages": [{"role": "user", "content": "Name three colours."}], "stream": stream}
    if stream:
        body["stream_options"] = {"include_usage": True}

    async def one(client: httpx.AsyncClient) -> None:
        nonlocal tokens
        async with gate:
            start = time.perf_counter()
            try:
                response = await client.post("/v1/chat/completions", json=body)
                text = response.text
                if response.status_code != 200:
                    errors.append(f"HTTP {response.status_code}")
                    return
                if stream and not text.rstrip().endswith("data: [DONE]"):
                    errors.append("stream without [DONE]")
                    return
                latencies.append(time.perf_counter() - start)
                tokens += _completion_tokens(text, stream)
            except httpx.HTTPError as exc:
                errors.append(type(exc).__name__)

    headers = {"Authorization": f"Bearer {KEY}"}
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300, limits=limits) as client:
        start = time.perf_counter()
        await asyncio.gather(*(one(client) for _ in range(requests)))
        wall = time.perf_counter() - start
    return latencies, errors, wall, tokens


def _completion_tokens(text: str, stream: bool) -> int:
    import json

    if not stream:
        return json.loads(text)["usage"]["completion_tokens"]
    for line in reversed(text.splitlines()):
        if line.startswith("data: {") and '"usage"' in line:
            return json.loads(line[6:])["usage"]["completion_tokens"]
    return 0


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, help="model folder (default: build the tiny test model)")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=16, help="max_new_tokens of the served config")
    parser.add_argument("--stream", action="store_true", help="stream every answer (SSE)")
    parser.add_argument("--threads", type=int, default=1, help="the server's torch CPU threads (OMP_NUM_THREADS)")
    args = parser.parse_args()

    from lmf_engine.api.server import free_port
    from lmf_engine.model.tiny import build_tiny_model

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = args.model.resolve() if args.model else build_tiny_model(folder / "tiny-qwen2")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = start_server(model, folder, port, args.max_tokens, args.threads)
        try:
            wait_ready(url, process)
            latencies, errors, wall, tokens = asyncio.run(load(url, args.requests, args.concurrency, args.stream))
        finally:
            process.terminate()
            process.wait(timeout=60)
    done = len(latencies)
    mode = "streaming" if args.stream else "non-streaming"
    print(
        f"{args.requests} {mode} requests, {args.concurrency} in flight, max_new_tokens {args.max_tokens}, "
        f"server threads {args.threads}"
    )
    print(f"{'requests/s':>11} {'p50 ms':>8} {'p99 ms':>8} {'tokens/s':>9} {'errors':>7}")
    p50 = statistics.median(latencies) * 1000 if latencies else float("nan")
    p99 = percentile(latencies, 0.99) * 1000 if latencies else float("nan")
    print(f"{done / wall:11.1f} {p50:8.1f} {p99:8.1f} {tokens / wall:9.1f} {len(errors):7d}")
    if errors:
        print("errors:", ", ".join(sorted(set(errors))))


if __name__ == "__main__":
    main()
