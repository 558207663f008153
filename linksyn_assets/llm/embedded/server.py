"""The embedded model's server: an OpenAI-compatible endpoint (`/v1/chat/completions`, `/v1/models`) on
127.0.0.1 over a pool of llama.cpp model instances, with JSON-grammar sampling done the way llama.cpp's own
server does it. Measured on the demo's requests (bench/first_run.py, docs/first_run.md):

- Grammar: llama-cpp-python puts the grammar into the sampler chain ahead of top-k, so every generated token
  checks all 49,152 vocabulary entries of SmolLM2 against the JSON grammar, about as long as the model's own
  forward pass. llama.cpp's server samples first and asks the grammar about the one chosen token, checking
  the whole vocabulary only when that token is refused (then it samples again among the allowed ones). Same
  constraint, same sampler chain; here as a subclass of `llama_cpp.Llama`.
- Pool: a 135M model barely gains from a second thread (one thread gave 85% of two threads' speed), so on
  N cores N single-thread instances answer N requests at once. Each instance keeps its own KV cache, so a
  request reuses the prompt prefix (system prompt and instructions) of the last one it served.

One JSON line per request goes to stderr (the log file `ensure_server` names): tokens and where the time went
(prompt evaluation, generation, grammar checks, the rest).

    python -m linksyn_assets.llm.embedded.server --model FILE.gguf --port N [--instances K] [--threads T]
"""

from __future__ import annotations

import argparse
import ctypes
import faulthandler
import json
import queue
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import _internals
from llama_cpp.llama_cache import LlamaRAMCache
from llama_cpp.llama_grammar import LlamaGrammar

# Prompt tokens per evaluation batch; a saved state copies n_batch x vocabulary logits, so smaller is cheaper.
N_BATCH = 256
_TOKEN_DATA = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)


class GrammarCheckedLlama(llama_cpp.Llama):
    """`Llama` whose grammar checks the sampled token first and the whole vocabulary only on refusal."""

    _grammar_sampler: _internals.LlamaSampler | None = None
    grammar_refusals: int = 0  # tokens the grammar refused (each cost one full-vocabulary check)
    grammar_tokens: int = 0
    grammar_s: float = 0.0

    def _init_sampler(self, *args: Any, grammar: LlamaGrammar | None = None, **kwargs: Any) -> Any:
        self._grammar_sampler = None
        if grammar is not None:
            self._grammar_sampler = _internals.LlamaSampler()
            self._grammar_sampler.add_grammar(self._model, grammar)
        return super()._init_sampler(*args, grammar=None, **kwargs)

    def sample(self, *args: Any, idx: int | None = None, **kwargs: Any) -> int:
        grammar = self._grammar_sampler
        token = super().sample(*args, idx=idx, **kwargs)
        if grammar is None or self._sampler is None:
            return token
        started = time.perf_counter()
        self.grammar_tokens += 1
        if not self._allowed(grammar, token):
            self.grammar_refusals += 1
            token = self._resample(grammar, idx)
        grammar.accept(token)
        self.grammar_s += time.perf_counter() - started
        return token

    @staticmethod
    def _allowed(grammar: _internals.LlamaSampler, token: int) -> bool:
        one = np.zeros(1, dtype=_TOKEN_DATA)
        one["id"] = token
        candidates = llama_cpp.llama_token_data_array(
            data=one.ctypes.data_as(llama_cpp.llama_token_data_p), size=1, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(grammar.sampler, ctypes.byref(candidates))
        return bool(np.isfinite(one["logit"][0]))

    def _resample(self, grammar: _internals.LlamaSampler, idx: int | None) -> int:
        """The grammar over the whole vocabulary, then the same sampler chain among the allowed tokens."""
        ridx = idx - self.n_tokens if idx is not None else -1
        logits = llama_cpp.llama_get_logits_ith(self._ctx.ctx, ridx)
        every = np.zeros(self._n_vocab, dtype=_TOKEN_DATA)
        every["id"] = np.arange(self._n_vocab, dtype=np.intc)
        every["logit"] = np.ctypeslib.as_array(logits, shape=(self._n_vocab,))
        candidates = llama_cpp.llama_token_data_array(
            data=every.ctypes.data_as(llama_cpp.llama_token_data_p), size=self._n_vocab, selected=-1, sorted=False)
        llama_cpp.llama_sampler_apply(grammar.sampler, ctypes.byref(candidates))
        assert self._sampler is not None
        llama_cpp.llama_sampler_apply(self._sampler.sampler, ctypes.byref(candidates))
        # the chain may have shrunk and reordered the array in place; `selected` indexes that array
        chosen = ctypes.cast(candidates.data, ctypes.POINTER(llama_cpp.llama_token_data))[candidates.selected]
        return int(chosen.id)


# Request fields passed on to llama.cpp; anything else (stream, tools, logprobs) is refused with a 400.
_PASSED = ("messages", "max_tokens", "temperature", "top_p", "top_k", "min_p", "stop", "seed", "response_format",
           "presence_penalty", "frequency_penalty", "repeat_penalty")
_IGNORED = ("model", "stream", "n", "user")


class ModelPool:
    """`instances` copies of the model, each with its own context (KV cache) and `threads` threads, and (cache_mb)
    a RAM cache of model states after earlier prompts: a request restores the state that shares the longest
    prefix with it, so the fixed instructions of each task (extract, synthesize, harden, judge, verify) are
    evaluated once per instance even when the tasks take turns."""

    def __init__(self, model: str, instances: int, threads: int, n_ctx: int, alias: str, cache_mb: int = 0) -> None:
        self.alias = alias
        self.free: queue.LifoQueue[GrammarCheckedLlama] = queue.LifoQueue()
        for _ in range(instances):
            llm = GrammarCheckedLlama(model_path=model, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                                      n_batch=N_BATCH, verbose=False, logits_all=False)
            if cache_mb:
                llm.set_cache(LlamaRAMCache(capacity_bytes=cache_mb << 20))
            self.free.put(llm)

    def complete(self, body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """The chat completion and a timing record of it."""
        unknown = sorted(set(body) - set(_PASSED) - set(_IGNORED))
        if unknown or body.get("stream"):
            raise ValueError(f"unsupported request field(s): {unknown or ['stream']}")
        kwargs = {k: body[k] for k in _PASSED if k in body and body[k] is not None}
        llm = self.free.get()
        try:
            llama_cpp.llama_perf_context_reset(llm._ctx.ctx)
            grammar_s, refusals, started = llm.grammar_s, llm.grammar_refusals, time.perf_counter()
            reply = llm.create_chat_completion(**kwargs)
            wall = time.perf_counter() - started
            perf = llama_cpp.llama_perf_context(llm._ctx.ctx)
            grammar = llm.grammar_s - grammar_s
            refused = llm.grammar_refusals - refusals
        finally:
            self.free.put(llm)
        reply["model"] = self.alias
        usage = reply.get("usage") or {}
        timing = {"prompt_tokens": usage.get("prompt_tokens", 0), "prompt_tokens_evaluated": perf.n_p_eval,
                  "completion_tokens": usage.get("completion_tokens", 0), "wall_s": round(wall, 4),
                  "prompt_eval_s": round(perf.t_p_eval_ms / 1000, 4), "generation_s": round(perf.t_eval_ms / 1000, 4),
                  "grammar_s": round(grammar, 4), "grammar_refusals": refused}
        timing["other_s"] = round(wall - timing["prompt_eval_s"] - timing["generation_s"] - grammar, 4)
        return reply, timing


def _handler(pool: ModelPool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 -- the base class's name
            return  # one JSON line per completion instead

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 -- http.server's name
            if self.path.rstrip("/") in ("/v1/models", "/models"):
                self._send(200, {"object": "list", "data": [{"id": pool.alias, "object": "model"}]})
            else:
                self._send(404, {"error": {"message": f"no route {self.path}"}})

        def do_POST(self) -> None:  # noqa: N802
            if self.path.rstrip("/") not in ("/v1/chat/completions", "/chat/completions"):
                self._send(404, {"error": {"message": f"no route {self.path}"}})
                return
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
                    raise ValueError("the body must be a JSON object with a `messages` list")
                reply, timing = pool.complete(body)
            except (ValueError, TypeError, KeyError) as exc:
                self._send(400, {"error": {"message": f"{type(exc).__name__}: {exc}"}})
                return
            except Exception as exc:  # noqa: BLE001 -- the client retries a 500
                self._send(500, {"error": {"message": f"{type(exc).__name__}: {exc}"}})
                return
            print(json.dumps({"event": "completion", **timing}), file=sys.stderr, flush=True)
            self._send(200, reply)

    return Handler


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="linksyn_assets.llm.embedded.server", description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--n_ctx", type=int, default=8192)
    parser.add_argument("--instances", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="threads per instance")
    parser.add_argument("--model_alias", default="smollm2")
    parser.add_argument("--cache_mb", type=int, default=0, help="RAM cache of prompt states per instance (0 = none)")
    args = parser.parse_args(argv)
    # a fault inside llama.cpp (an instruction this CPU does not run) leaves its trace in the log the run quotes
    faulthandler.enable()
    print(json.dumps({"event": "system_info", "llama_cpp": llama_cpp.llama_print_system_info().decode().strip()}),
          file=sys.stderr, flush=True)
    pool = ModelPool(args.model, args.instances, args.threads, args.n_ctx, args.model_alias, args.cache_mb)
    server = ThreadingHTTPServer((args.host, args.port), _handler(pool))
    server.daemon_threads = True
    print(json.dumps({"event": "ready", "instances": args.instances, "threads": args.threads}), file=sys.stderr,
          flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
