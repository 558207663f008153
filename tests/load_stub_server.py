"""An OpenAI-compatible server for load (aiohttp, thousands of requests in flight on one core): every reply is
a valid extraction after a fixed latency. It counts how often each distinct request was answered and the peak
number in flight (GET /stats), so a benchmark can check that nothing was paid twice.

    python -m tests.load_stub_server <port> <latency_s>
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sys
from collections import Counter

from aiohttp import web

REPLY = json.dumps({"knowledge_points": ["photosynthesis", "light reactions"], "difficulty": 1})
USAGE = {"prompt_tokens": 60, "completion_tokens": 20, "total_tokens": 80}


def build_app(latency_s: float) -> web.Application:
    answered: Counter[str] = Counter()
    state = {"in_flight": 0, "peak": 0}

    async def completions(request: web.Request) -> web.Response:
        body = await request.json()
        key = hashlib.sha256(json.dumps(body["messages"], sort_keys=True).encode()).hexdigest()
        state["in_flight"] += 1
        state["peak"] = max(state["peak"], state["in_flight"])
        try:
            await asyncio.sleep(latency_s)
        finally:
            state["in_flight"] -= 1
        answered[key] += 1
        return web.json_response({"id": "x", "object": "chat.completion", "created": 0, "model": body.get("model"),
                                  "choices": [{"index": 0, "finish_reason": "stop",
                                               "message": {"role": "assistant", "content": REPLY}}],
                                  "usage": USAGE})

    async def stats(_request: web.Request) -> web.Response:
        return web.json_response({"answered": sum(answered.values()), "distinct": len(answered),
                                  "answered_twice": sum(1 for n in answered.values() if n > 1),
                                  "in_flight_peak": state["peak"]})

    async def reset(_request: web.Request) -> web.Response:
        answered.clear()
        state["peak"] = state["in_flight"]
        return web.json_response({})

    app = web.Application(client_max_size=1 << 22)
    app.router.add_post("/v1/chat/completions", completions)
    app.router.add_post("/chat/completions", completions)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    return app


if __name__ == "__main__":
    web.run_app(build_app(float(sys.argv[2])), host="127.0.0.1", port=int(sys.argv[1]), print=None,
                access_log=None, backlog=8192)
