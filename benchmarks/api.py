"""A bounded load on ``lmf-engine api``: requests/s, p50/p99 latency and errors.

Usage: python benchmarks/api.py [--requests 200] [--concurrency 8] [--max-tokens 16] [--stream-share 0.5]

The real server (``lmf-engine api``, a subprocess on a free loopback port, with an API key) serves the tiny demo
model (no adapter) built in a temporary folder. ``--requests`` chat completions are sent ``--concurrency`` at a
time with httpx; a share of them stream (SSE, read to ``[DONE]``). An error is any non-200 answer, a body without a
choice, a stream without ``[DONE]``, or a transport failure. Target: zero errors. The server answers one
generation at a time, so requests/s is the model's throughput and latency grows with the queue; both are printed
beside a single-request baseline measured first.
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

API_KEY = "bench-key"


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(workspace: Path, port: int) -> subprocess.Popen:
    """``lmf-engine api`` on the demo's chat config; waits until /v1/models answers."""
    env = {**os.environ, "API_KEY": API_KEY, "HF_HUB_OFFLINE": "1"}
    command = [sys.executable, "-m", "lmf_engine", "api", "configs/chat.yaml", "adapter_name_or_path=null"]
    command += ["--port", str(port)]
    command += ["--log-level", "warning"]
    proc = subprocess.Popen(command, cwd=workspace, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"lmf-engine api exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            answer = httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {API_KEY}"})
            if answer.status_code == 200:
                return proc
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("lmf-engine api did not start in 120 s")


def body(i: int, max_tokens: int, stream: bool) -> dict:
    return {
        "model": "tiny",
        "messages": [{"role": "user", "content": f"What is {i % 50} plus {i % 7}?"}],
        "max_tokens": max_tokens,
        "temperature": 0,
        "stream": stream,
    }


async def one(client: httpx.AsyncClient, i: int, max_tokens: int, stream: bool) -> tuple[float, str | None]:
    """(latency in seconds, error or None) of one request."""
    start = time.perf_counter()
    try:
        if stream:
            done = False
            async with client.stream("POST", "/v1/chat/completions", json=body(i, max_tokens, True)) as answer:
                if answer.status_code != 200:
                    return time.perf_counter() - start, f"HTTP {answer.status_code}"
                async for line in answer.aiter_lines():
                    done = done or line.strip() == "data: [DONE]"
            return time.perf_counter() - start, None if done else "stream ended without [DONE]"
        answer = await client.post("/v1/chat/completions", json=body(i, max_tokens, False))
        if answer.status_code != 200:
            return time.perf_counter() - start, f"HTTP {answer.status_code}: {answer.text[:200]}"
        if not json.loads(answer.text).get("choices"):
            return time.perf_counter() - start, "no choices in the answer"
        return time.perf_counter() - start, None
    except httpx.HTTPError as exc:
        return time.perf_counter() - start, f"{type(exc).__name__}: {exc}"


async def load(url: str, requests: int, concurrency: int, max_tokens: int, stream_share: float) -> dict:
    """Send ``requests`` requests, ``concurrency`` in flight at a time; latencies, errors and wall time."""
    gate = asyncio.Semaphore(concurrency)
    headers = {"Authorization": f"Bearer {API_KEY}"}
    streams = round(requests * stream_share)

    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=300) as client:

        async def gated(i: int) -> tuple[float, str | None]:
            async with gate:
                return await one(client, i, max_tokens, stream=i < streams)

        start = time.perf_counter()
        results = await asyncio.gather(*(gated(i) for i in range(requests)))
        wall = time.perf_counter() - start
    latencies = sorted(latency for latency, _ in results)
    errors = [error for _, error in results if error]
    return {"wall": wall, "latencies": latencies, "errors": errors, "requests": requests}


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, round(share * (len(values) - 1)))]


def row(name: str, result: dict) -> str:
    lat = result["latencies"]
    return (
        f"{name:<22} {result['requests']:>8} {result['requests'] / result['wall']:>10.1f} "
        f"{statistics.median(lat) * 1000:>9.0f} {percentile(lat, 0.99) * 1000:>9.0f} {len(result['errors']):>7}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--stream-share", type=float, default=0.5, help="share of requests that stream")
    args = parser.parse_args()

    from lmf_engine.demo.workspace import init_demo_workspace

    with tempfile.TemporaryDirectory(prefix="lmf-api-bench-") as tmp:
        workspace = init_demo_workspace(Path(tmp) / "ws")
        port = free_port()
        server = start_server(workspace, port)
        try:
            url = f"http://127.0.0.1:{port}"
            single = asyncio.run(load(url, 10, 1, args.max_tokens, args.stream_share))
            loaded = asyncio.run(load(url, args.requests, args.concurrency, args.max_tokens, args.stream_share))
        finally:
            server.terminate()
            server.wait(timeout=30)
    print(f"lmf-engine api, tiny demo model, max_tokens {args.max_tokens}, {args.stream_share:.0%} streamed, loopback")
    print(f"{'load':<22} {'requests':>8} {'req/s':>10} {'p50 ms':>9} {'p99 ms':>9} {'errors':>7}")
    print(row("1 at a time", single))
    print(row(f"{args.concurrency} at a time", loaded))
    for error in (single["errors"] + loaded["errors"])[:5]:
        print(f"  error: {error}")


if __name__ == "__main__":
    main()
