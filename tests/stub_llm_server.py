"""A test-side OpenAI-compatible server on 127.0.0.1 (real HTTP, random port).

Answers are deterministic functions of the request, so pipeline outputs are reproducible:
- KP extraction: the distinct long words of the seed question (English words of 6+ letters,
  Chinese 2-character chunks), at most 4;
- synthesis / hardening: a question built from the path's knowledge points and a hash of the request.
Faults can be injected at a set period (every n-th request): 429 with Retry-After, 500, 503,
malformed JSON, schema-invalid JSON, empty content, whitespace-only content, truncation, and latency.

Reply shapes (StubState.reply_shape) are the ways real hosts return a reasoning model's reply, each from the
public document named in linksyn_assets/llm/providers.py:
- `plain`: the JSON alone (llama.cpp, vLLM with a schema, DeepSeek with thinking off);
- `think`: `<think> thought </think>` then the JSON, in `content` (R1 on Together, SambaNova, Azure AI Foundry,
  vLLM or SGLang without a reasoning parser, Ollama before 0.9);
- `implicit`: the thought and `</think>` but no opening tag (R1's chat template opens the thought itself);
- `field`: the thought in `message.reasoning` (vLLM >= 0.11 with --reasoning-parser, OpenRouter, Together);
- `reasoning_content`: the thought in `message.reasoning_content`, with reasoning_tokens in the usage (DeepSeek);
- `fenced`: prose with braces, then the JSON in a ```json fence (chat models asked for JSON without a format);
- `mixed`: think, implicit, field, or fenced with a `reasoning_content` thought, chosen by a hash of the request.
Thoughts hold LaTeX braces and a drafted JSON object whose strings are all "draft", in Chinese for Chinese
prompts. `think_tokens` makes the thought that long: with the request's max_tokens the reply is cut off inside the
thought (finish_reason "length") or in the answer, as a thinking model's would be.
`reject_json_schema` answers response_format json_schema with a 400, as DeepSeek's API and some hosts do.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_WORD = re.compile(r"[A-Za-z]{6,}|[\u4e00-\u9fff]{2}")
_STOP = {"following", "because", "answer", "question", "explanation", "which", "during"}


@dataclass
class Faults:
    """Period of each fault: 3 means requests 3, 6, 9 ... get it (0 = never)."""

    http_429: int = 0
    http_500: int = 0
    http_503: int = 0
    bad_json: int = 0
    schema_invalid: int = 0
    empty: int = 0
    truncated: int = 0
    blank: int = 0       # the answer is whitespace only, finish_reason "stop" (DeepSeek's JSON mode documents it)
    reset: int = 0       # close the connection without a reply
    hang: int = 0        # reply only after hang_s (longer than the client's timeout)
    hang_s: float = 3.0
    latency_s: float = 0.0
    retry_after_s: float = 0.05
    reject_auth: bool = False  # every request gets 401
    # time.time() before which every request gets 503: an overloaded or restarting host (DeepSeek's error codes page,
    # api-docs.deepseek.com/quick_start/error_codes: "503 - Server Overloaded ... Please retry your request after a
    # brief wait"; OpenAI's error codes guide: "503 - Slow Down" / "The engine is currently overloaded")
    unavailable_until: float = 0.0


@dataclass
class StubState:
    faults: Faults = field(default_factory=Faults)
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    by_stage: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    disagree: bool = False  # the independent solve answers D
    judge_flat: bool = False  # the judge rates every question 2 (no variant is harder)
    copy_seed: bool = False  # synthesis returns the first seed's question
    provider: str = "openai"  # "deepseek": behaves like DeepSeek's API as of 2026-12 (see _deepseek_error)
    reply_shape: str = "plain"  # plain | think | implicit | field | reasoning_content | fenced | mixed
    think_tokens: int = 0  # the thought's length in tokens (0: about 80 tokens)
    reject_json_schema: bool = False  # a 400 for response_format json_schema
    ok_replies: int = 0  # 200 replies sent: what a paid host would have billed


SHAPES = ("plain", "think", "implicit", "field", "reasoning_content", "fenced")
MIXED = ("think", "implicit", "field", "fenced")
DEEPSEEK_MODELS = {"deepseek-v4-pro", "deepseek-v4-flash", "deepseek-flash"}


def _deepseek_error(body: dict[str, Any]) -> str | None:
    """DeepSeek's API today: deepseek-flash and the v4 names are served (deepseek-chat / deepseek-reasoner were
    retired on 2026-07-24) and response_format json_schema is rejected; both with a 400."""
    if body.get("model") not in DEEPSEEK_MODELS:
        return "Model Not Exist"
    if (body.get("response_format") or {}).get("type") == "json_schema":
        return "This response_format type is unavailable now"
    return None


def _stage(body: dict[str, Any]) -> str:
    fmt = body.get("response_format") or {}
    schema = fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema") or {}
    system = body["messages"][0]["content"] if body.get("messages") else ""
    # without a response_format (thinking routes) the schema is only in the prompt
    title = schema.get("title") or next((t for t in ("KPExtraction", "SynthesisAnswer", "DifficultyRating",
                                                     "IndependentSolve", "HardeningAnswer")
                                         if f'"title": "{t}"' in system), "")
    if title == "KPExtraction" or "knowledge points (KPs)" in system:
        return "extract"
    if title == "SynthesisAnswer" or "write new, original exam questions" in system:
        return "synthesize"
    if title == "DifficultyRating":
        return "judge"
    if title == "IndependentSolve":
        return "verify"
    return "harden"


def _seed_text(body: dict[str, Any]) -> str:
    user = next((m["content"] for m in body["messages"] if m["role"] == "user"), "")
    match = re.search(r"Question: (.*?)(?:\n[A-H]\. |\nAnswer: )", user, re.DOTALL)
    return match.group(1) if match else user


def answer_for(body: dict[str, Any], state: StubState | None = None) -> dict[str, Any]:
    state = state or StubState()
    stage = _stage(body)
    digest = hashlib.sha256(json.dumps(body["messages"], sort_keys=True).encode()).hexdigest()[:10]
    if stage == "extract":
        words: list[str] = []
        for w in _WORD.findall(_seed_text(body)):
            w = w.lower()
            if w not in _STOP and w not in words:
                words.append(w)
        kps = [{"name": w, "canonical_en": w if w.isascii() else None} for w in words[:4]]
        return {"knowledge_points": kps or [{"name": "general knowledge"}], "discipline": None, "difficulty": 2}
    user = next(m["content"] for m in body["messages"] if m["role"] == "user")
    if stage == "judge":  # variants read as harder unless the test says otherwise
        return {"rating": 2 if state.judge_flat or "Harder (" not in user else 3, "reason": "rubric"}
    if stage == "verify":  # the stub's own questions have B (synthesized) and C (hard) as answers
        return {"answer": "D" if state.disagree else ("C" if "Harder (" in user else "B"), "solution": "solved"}
    if stage == "synthesize" and state.copy_seed:
        return {"items": [{"question": _seed_text(body).strip(), "options": [], "answer": "copied",
                           "solution": "copied from the seed", "knowledge_points_used": []}]}
    if stage == "synthesize":
        kps = re.search(r"<kps>(.*?)</kps>", user)
        kp_text = ", ".join(json.loads(kps.group(1))) if kps else "several ideas"
        count = int(re.search(r"(?:Write|写) (\d+) (?:new question|道新题)", body["messages"][0]["content"]).group(1))
        return {"items": [{
            "question": f"Combine {kp_text} to solve problem {digest}-{i}: which statement holds?",
            "options": ["first claim", "second claim", "third claim", "fourth claim"],
            "answer": "B", "solution": f"Apply {kp_text} step by step; the second claim follows.",
            "knowledge_points_used": kp_text.split(", ")[:2]} for i in range(count)]}
    question = re.search(r"Question: (.*?)\n", user)
    return {"question": f"Harder ({digest}): {question.group(1) if question else 'a question'}",
            "options": ["w", "x", "y", "z"], "answer": "C",
            "solution": "Work through two extra reasoning steps; option C remains.",
            "techniques": ["more reasoning steps", "subtler distractors"]}


_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def tokens_of(text: str) -> int:
    """The stub's token count: one per Han character, one per four other characters."""
    han = len(_CJK.findall(text))
    return han + (len(text) - han + 3) // 4


def _cut(text: str, tokens: int) -> str:
    """The first `tokens` tokens of text (by tokens_of's count)."""
    used, out = 0.0, []
    for ch in text:
        used += 1.0 if _CJK.match(ch) else 0.25
        if used > tokens:
            break
        out.append(ch)
    return "".join(out)


def _draft(value: Any) -> Any:
    """The answer's shape with every string replaced by "draft": what a model drafts before its real answer."""
    if isinstance(value, dict):
        return {k: _draft(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_draft(v) for v in value]
    return "draft" if isinstance(value, str) else value


def thought_for(body: dict[str, Any], answer: dict[str, Any], tokens: int) -> str:
    """A thought of about `tokens` tokens (80 when 0) in the prompt's language, with LaTeX braces and a draft."""
    user = next((m["content"] for m in reversed(body.get("messages", [])) if m["role"] == "user"), "")
    chinese = bool(_CJK.search(user))  # the data's language (the English extraction prompt cites a Chinese KP)
    draft = json.dumps(_draft(answer), ensure_ascii=False)
    if chinese:
        step = (f"让我一步一步思考。分数 \\frac{{1}}{{2}} 与 x^{{2}} 有关，集合 \\{{x \\mid x>1\\}} 是开区间。"
                f"先写一个草稿：{draft} 不对，再检查一下知识点和答案。")
    else:
        step = (f"Let me think step by step. The fraction \\frac{{1}}{{2}} of x^{{2}} matters, and the set "
                f"\\{{x \\mid x>1\\}} is open. A first draft of the answer: {draft} No wait, let me check the "
                "knowledge points and the answer again. ")
    want = tokens or 80
    text = step
    while tokens_of(text) < want:
        text += step
    return _cut(text, want)


def shape_reply(body: dict[str, Any], answer: dict[str, Any], answer_text: str, finish: str,
                state: StubState) -> tuple[dict[str, Any], str, int, int]:
    """(message, finish_reason, completion tokens, reported reasoning tokens) of one reply in the state's shape,
    cut off at the request's max_tokens the way a thinking model's reply is."""
    shape = state.reply_shape
    if shape == "mixed":
        digest = hashlib.sha256(json.dumps(body["messages"], sort_keys=True).encode()).digest()
        shape = MIXED[digest[0] % len(MIXED)]
    limit = int(body.get("max_tokens") or body.get("max_completion_tokens") or 1 << 30)
    thinks = shape in ("think", "implicit", "field", "reasoning_content") or (shape == "fenced"
                                                                              and state.reply_shape == "mixed")
    thought = thought_for(body, answer, state.think_tokens) if thinks else ""
    spent = tokens_of(thought)
    if thinks and spent >= limit:  # cut off inside the thought
        thought, answer_text, finish = _cut(thought, limit), "", "length"
        spent = limit
    elif thinks and spent + tokens_of(answer_text) > limit:
        answer_text, finish = _cut(answer_text, limit - spent), "length"
    cut_inside = finish == "length" and not answer_text
    if shape == "fenced":
        answer_text = (f"Here is the JSON for {{the question}} as asked, with sets like {{x | x>1}}:\n```json\n"
                       f"{answer_text}\n```\nDone." if answer_text.strip() else answer_text)
    message: dict[str, Any] = {"role": "assistant"}
    reported = 0
    if shape == "think":
        message["content"] = f"<think>\n{thought}" + ("" if cut_inside else f"\n</think>\n\n{answer_text}")
    elif shape == "implicit":
        message["content"] = thought + ("" if cut_inside else f"\n</think>\n\n{answer_text}")
    elif shape == "field":
        message["content"], message["reasoning"] = answer_text or None, thought
    elif shape == "reasoning_content" or (shape == "fenced" and thinks):
        message["content"], message["reasoning_content"], reported = answer_text, thought, spent
    else:
        message["content"] = answer_text
    return message, finish, spent + tokens_of(answer_text), reported


def _hit(period: int, n: int) -> bool:
    return period > 0 and n % period == 0


class _Handler(BaseHTTPRequestHandler):
    state: StubState

    def log_message(self, *_args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        if status == 200:
            with self.state.lock:
                self.state.ok_replies += 1
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        self._send(200, {"object": "list", "data": [{"id": "stub-model", "object": "model"}]})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"{}")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send(404, {"error": {"message": f"no route {self.path}", "type": "not_found"}})
            return
        state = self.state
        with state.lock:
            state.requests.append(body)
            state.headers.append(dict(self.headers))
            n = len(state.requests)
            state.by_stage[_stage(body)] += 1
        f = state.faults
        deepseek = _deepseek_error(body) if state.provider == "deepseek" else None
        if deepseek:
            self._send(400, {"error": {"message": deepseek, "type": "invalid_request_error", "param": None,
                                       "code": "invalid_request_error"}})
            return
        fmt_type = (body.get("response_format") or {}).get("type")
        if state.reject_json_schema and fmt_type == "json_schema":
            self._send(400, {"error": {"message": "response_format type 'json_schema' is not supported by this "
                                                  "model; use json_object", "type": "invalid_request_error",
                                       "param": "response_format"}})
            return
        if time.time() < f.unavailable_until:
            self._send(503, {"error": {"message": "Service temporarily unavailable", "type": "server_error"}})
            return
        if f.reject_auth:
            self._send(401, {"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}})
            return
        if _hit(f.reset, n):
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if _hit(f.hang, n):
            time.sleep(f.hang_s)
        if f.latency_s:
            time.sleep(f.latency_s)
        if _hit(f.http_429, n):
            self._send(429, {"error": {"message": "rate limited", "type": "rate_limit"}},
                       {"Retry-After": str(f.retry_after_s)})
            return
        if _hit(f.http_500, n) or _hit(f.http_503, n):
            code = 500 if _hit(f.http_500, n) else 503
            self._send(code, {"error": {"message": "server error", "type": "server_error"}})
            return
        answer = answer_for(body, self.state)
        content = json.dumps(answer, ensure_ascii=False)
        finish = "stop"
        if _hit(f.bad_json, n):
            content = content[: len(content) // 2] + "<<not json"
        elif _hit(f.schema_invalid, n):
            content = json.dumps({"unexpected": True})
        elif _hit(f.empty, n):
            content = ""
        elif _hit(f.truncated, n):
            content, finish = content[: len(content) // 3], "length"
        elif _hit(f.blank, n):
            content = "  \n \t "
        prompt_tokens = sum(len(m.get("content") or "") for m in body.get("messages", [])) // 4
        message, finish, completion, reasoning = shape_reply(body, answer, content, finish, state)
        thinking = (body.get("thinking") or {}).get("type", "enabled") != "disabled"
        if "reasoning_content" not in message and ("reasoner" in body.get("model", "") or
                                                    (state.provider == "deepseek" and thinking)):
            # DeepSeek's thinking mode: the thought in its own field, with a drafted object that is not the answer
            message["reasoning_content"] = 'Let me think. {"knowledge_points": ["not the answer"]}'
        usage: dict[str, Any] = {"prompt_tokens": prompt_tokens, "completion_tokens": completion,
                                 "total_tokens": prompt_tokens + completion}
        if reasoning:
            usage["completion_tokens_details"] = {"reasoning_tokens": reasoning}
        self._send(200, {
            "id": f"chatcmpl-{n}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "stub-model"),
            "choices": [{"index": 0, "finish_reason": finish, "message": message}],
            "usage": usage,
        })


class StubServer:
    def __init__(self) -> None:
        self.state = StubState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self._httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def __enter__(self) -> StubServer:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def outage(self, seconds: float, until: Callable[[], bool] | None = None) -> threading.Thread:
        """Stop listening now (connections are refused, as when a host restarts) and listen again on the same port
        after `seconds`, or as soon as `until()` holds; returns the thread that brings it back."""
        self._httpd.shutdown()
        self._httpd.server_close()

        def back() -> None:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline and not (until and until()):
                time.sleep(0.005)
            self._httpd = ThreadingHTTPServer(("127.0.0.1", self.port), self._httpd.RequestHandlerClass)
            self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
            self._thread.start()

        thread = threading.Thread(target=back, daemon=True)
        thread.start()
        return thread

    @property
    def count(self) -> int:
        return len(self.state.requests)

    def reset(self, faults: Faults | None = None) -> None:
        with self.state.lock:
            self.state.requests.clear()
            self.state.headers.clear()
            self.state.by_stage.clear()
            self.state.faults = faults or Faults()
            self.state.provider = "openai"
            self.state.reply_shape = "plain"
            self.state.think_tokens = 0
            self.state.reject_json_schema = False
            self.state.ok_replies = 0
