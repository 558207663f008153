"""LLM layer throughput and memory against a local OpenAI-compatible mock (aiohttp, loopback).

Measured in the same run: (a) the LinkSyn LLM layer (litellm, ledger, rate control, validation)
and (b) a raw aiohttp client, at 0 s latency and at 1 s latency with 500 requests in flight; then
a 100k-request run of the layer in a child process for peak RSS. The reply reader (thought split and JSON read,
llm/reply_reader.py) is timed on its own on plain and R1-shaped replies (a ~1.5 kB thought with LaTeX braces and a
drafted object inside <think> tags) against the old first-to-last-brace parse, and the layer is run at zero
latency on R1-shaped replies too. reader_share_lat0 is the reader's whole time per R1 reply (validation included)
over the layer's time per R1 request at zero latency; reader_added_share_lat0 the same for what it adds over the
old parse of a plain reply. The last line is key=value pairs.

    .venv/bin/python bench/llm_throughput.py [--quick] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from peak_memory import peak_rss_mb  # noqa: E402

MOCK = r'''
import asyncio, json, sys
from aiohttp import web
THOUGHT = ("Okay, F = ma gives \\frac{F}{m} = a with x^{2} terms and the set \\{x \\mid x>1\\}. Draft: "
           '{"knowledge_points": ["draft"], "difficulty": 0} no, check again. ') * 12
def reply(model):
    content = json.dumps({"knowledge_points": ["newton's second law", "kinematics"], "difficulty": 1})
    if "think" in model:
        content = "<think>\n" + THOUGHT + "\n</think>\n\n" + content
    return json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": model,
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": content}}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52}}).encode()
async def handle(request):
    body = json.loads(await request.read())
    model = body.get("model", "lat0")
    latency = float(model.rsplit("lat", 1)[-1].removesuffix("think")) if "lat" in model else 0.0
    if latency:
        await asyncio.sleep(latency)
    return web.Response(body=reply(model), content_type="application/json")
app = web.Application()
app.router.add_post("/v1/chat/completions", handle)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None, backlog=4096)
'''


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def messages(i: int) -> list[dict[str, str]]:
    return [{"role": "system", "content": "Identify the knowledge points (KPs) a question tests."},
            {"role": "user", "content": f"<seed>\nQuestion: A 2 kg cart accelerates; item {i}\nAnswer: 4 N\n</seed>"}]


async def raw_client(url: str, n: int, concurrency: int, model: str) -> float:
    import aiohttp

    body = [json.dumps({"model": model, "messages": messages(i), "max_tokens": 256}) for i in range(n)]
    queue: asyncio.Queue[int] = asyncio.Queue()
    for i in range(n):
        queue.put_nowait(i)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                async with session.post(url, data=body[i], headers={"content-type": "application/json",
                                                                      "authorization": "Bearer k"}) as resp:
                    json.loads(json.loads(await resp.read())["choices"][0]["message"]["content"])
        started = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        return n / (time.perf_counter() - started)


def layer_client(base: str, n: int, concurrency: int, model: str, workers: int, ledger_dir: Path,
                 count_only: bool = False) -> float:
    from linksyn_assets.llm.client import LLMClient
    from linksyn_assets.llm.ledger import RequestLedger
    from linksyn_assets.llm.records import ModelRoute
    from linksyn_assets.llm.workers import stream_batch
    from linksyn_assets.records import KPExtraction

    route = ModelRoute(model=f"hosted_vllm/{model}", cache_identity=f"bench-{model}-{time.time()}", api_base=base,
                       api_key="k")
    ledger = RequestLedger(ledger_dir / f"ledger-{model}-{n}.sqlite")
    client = LLMClient(route, ledger, stage="bench", max_concurrency=concurrency, max_retries=2,
                       progress_every_s=1e9)
    done = [0]

    def sink(result: object) -> None:
        done[0] += 1

    started = time.perf_counter()
    stream_batch(client, ((f"r{i}", messages(i)) for i in range(n)), KPExtraction, "bench", sink, total=n,
                 workers=workers)
    elapsed = time.perf_counter() - started
    assert done[0] == n and client.stats.ok == n, (done[0], client.stats.failed)
    return n / elapsed


def reader_timing(repeats: int = 5, n: int = 20_000) -> dict[str, float]:
    """Microseconds per reply (median of `repeats` runs of n replies): the reader on a plain and on an R1-shaped
    reply, and the old parse (first to last brace, json.loads, validation) on the plain one."""
    import statistics

    from linksyn_assets.llm.reply_reader import answer_json, split_reply
    from linksyn_assets.records import KPExtraction

    answer = json.dumps({"knowledge_points": ["newton's second law", "kinematics"], "difficulty": 1})
    thought = ("Okay, F = ma gives \\frac{F}{m} = a with x^{2} terms and the set \\{x \\mid x>1\\}. Draft: "
               '{"knowledge_points": ["draft"], "difficulty": 0} no, check again. ') * 12
    r1 = f"<think>\n{thought}\n</think>\n\n{answer}"

    def old(content: str) -> dict:
        text = content.strip()
        data = json.loads(text[text.find("{"):text.rfind("}") + 1], strict=False)
        return KPExtraction.model_validate(data).model_dump(mode="json")

    def new(content: str) -> dict:
        return answer_json(split_reply(content), content, KPExtraction)

    def per_reply(fn, content: str) -> float:
        runs = []
        for _ in range(repeats):
            started = time.perf_counter()
            for _ in range(n):
                fn(content)
            runs.append((time.perf_counter() - started) / n * 1e6)
        return statistics.median(runs)

    assert new(r1) == new(answer) == old(answer)
    return {"old_plain": per_reply(old, answer), "new_plain": per_reply(new, answer), "new_r1": per_reply(new, r1)}


def child_memory(base: str, n: int, workers: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        layer_client(base, n, 200, "lat0", workers, Path(tmp))
    children_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"peak_rss_mb": peak_rss_mb() + children_kb / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller runs (under 45 s)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes of the layer")
    parser.add_argument("--child-memory", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--base", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_memory:
        child_memory(args.base, args.child_memory, args.workers)
        return
    port = free_port()
    mock = subprocess.Popen([sys.executable, "-c", MOCK, str(port)])
    base = f"http://127.0.0.1:{port}/v1"
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        n_lat1, n_lat0, n_mem = (1500, 2000, 20_000) if args.quick else (5000, 10_000, 100_000)
        with tempfile.TemporaryDirectory() as tmp:
            raw_lat1 = asyncio.run(raw_client(f"{base}/chat/completions", n_lat1, 500, "lat1"))
            layer_lat1 = layer_client(base, n_lat1, 500, "lat1", args.workers, Path(tmp))
            raw_lat0 = asyncio.run(raw_client(f"{base}/chat/completions", n_lat0, 100, "lat0"))
            layer_lat0 = layer_client(base, n_lat0, 100, "lat0", args.workers, Path(tmp))
            layer_lat0_r1 = layer_client(base, n_lat0, 100, "lat0think", args.workers, Path(tmp))
        reader = reader_timing()
        out = subprocess.run([sys.executable, __file__, "--child-memory", str(n_mem), "--base", base,
                              "--workers", str(args.workers)], capture_output=True, text=True, check=True)
        peak = json.loads(out.stdout.strip().splitlines()[-1])["peak_rss_mb"]
    finally:
        mock.terminate()
    print(f"machine: {os.cpu_count()} cores; layer workers={args.workers}; memory run {n_mem} requests")
    print(f"reader: {reader['new_plain']:.1f} us per plain reply (old parse {reader['old_plain']:.1f} us), "
          f"{reader['new_r1']:.1f} us per R1 reply with a 1.5 kB thought")
    print(f"layer_rps_lat1={layer_lat1:.1f} raw_rps_lat1={raw_lat1:.1f} ratio_lat1={layer_lat1 / raw_lat1:.3f} "
          f"layer_rps_lat0={layer_lat0:.1f} raw_rps_lat0={raw_lat0:.1f} ratio_lat0={layer_lat0 / raw_lat0:.3f} "
          f"layer_rps_lat0_r1={layer_lat0_r1:.1f} reader_us_plain={reader['new_plain']:.1f} "
          f"old_parse_us_plain={reader['old_plain']:.1f} reader_us_r1={reader['new_r1']:.1f} "
          f"reader_share_lat0={reader['new_r1'] * 1e-6 * layer_lat0_r1:.4f} "
          f"reader_added_share_lat0={(reader['new_r1'] - reader['old_plain']) * 1e-6 * layer_lat0_r1:.4f} "
          f"peak_rss_mb_100k={peak:.0f}")


if __name__ == "__main__":
    main()
