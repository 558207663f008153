"""The embedded model's server: pooled single-thread instances, grammar checked on the sampled token
(falling back to the whole vocabulary), timing lines, and the bounded demo grammar; English and Chinese."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from linksyn_assets.llm.embedded.grammar import bounded_schema
from linksyn_assets.llm.embedded.process import gguf_path
from linksyn_assets.llm.owned_process import owned_command
from linksyn_assets.llm.records import parse_json_answer
from linksyn_assets.prompts.messages import extraction_messages, judge_messages
from linksyn_assets.records import DifficultyRating, KPExtraction
from tests.services import free_port

pytestmark = pytest.mark.local_model

SEEDS = [
    {"seed_id": "en1", "question": "A 2 kg mass accelerates at 3 m/s^2. What net force acts on it?", "answer": "6 N"},
    {"seed_id": "zh1", "question": "质量为2千克的物体以3米每二次方秒的加速度运动，它受到的合力是多少？",
     "answer": "6牛"},
    {"seed_id": "en2", "question": "Which gas do plants take in for photosynthesis?", "options": ["O2", "CO2", "N2"],
     "answer": "B"},
    {"seed_id": "zh2", "question": "光合作用中植物吸收哪种气体？", "options": ["氧气", "二氧化碳", "氮气"],
     "answer": "B"},
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory):
    import subprocess

    log = tmp_path_factory.mktemp("server") / "server.log"
    port = free_port()
    cmd = owned_command("linksyn_assets.llm.embedded.server", [
        "--model", str(gguf_path()), "--port", str(port), "--instances", "2", "--threads", "1", "--n_ctx", "4096"])
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/models", timeout=2) as resp:
                if resp.status == 200:
                    break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise AssertionError(f"embedded server did not start: {log.read_text()[-2000:]}")
    yield base, log
    proc.terminate()
    proc.wait(timeout=10)


def _post(base: str, body: dict) -> dict:
    request = urllib.request.Request(f"{base}/chat/completions", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as resp:
        return json.loads(resp.read())


def _timings(log: Path) -> list[dict]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line["event"] == "completion"]


def test_bounded_grammar_gives_valid_answers_in_english_and_chinese(server: tuple[str, Path]) -> None:
    base, log = server
    before = len(_timings(log))
    schema = bounded_schema(KPExtraction.model_json_schema())
    results: dict[str, dict] = {}

    def ask(seed: dict) -> None:
        results[seed["seed_id"]] = _post(base, {
            "messages": extraction_messages(seed), "max_tokens": 192, "temperature": 0.6,
            "response_format": {"type": "json_object", "schema": schema}})

    threads = [threading.Thread(target=ask, args=(seed,)) for seed in SEEDS]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    valid = 0
    for seed_id, reply in results.items():
        choice = reply["choices"][0]
        if choice["finish_reason"] == "stop":  # a reply the grammar let finish is valid JSON within the bounds
            answer = parse_json_answer(choice["message"]["content"], KPExtraction)
            assert 1 <= len(answer["knowledge_points"]) <= 3, seed_id
            assert all(len(kp["name"]) <= 24 for kp in answer["knowledge_points"])
            assert answer["difficulty"] in (None, 0, 1, 2, 3, 4)
            valid += 1
    assert valid >= 2, results
    timings = _timings(log)[before:]
    assert len(timings) == 4
    for t in timings:
        assert t["completion_tokens"] > 0 and t["generation_s"] > 0 and t["prompt_eval_s"] > 0
        # the grammar checked the sampled tokens; a refused one triggered the whole-vocabulary pass
        assert 0 <= t["grammar_refusals"] <= t["completion_tokens"]
        assert t["wall_s"] >= t["prompt_eval_s"] + t["generation_s"]


def test_integer_range_is_enforced_by_the_grammar(server: tuple[str, Path]) -> None:
    """llama.cpp's grammar ignores minimum/maximum; the bounded schema turns 0-4 into an enum, so the
    judge's rating is always in range (the unbounded grammar let the demo model answer 5)."""
    base, _ = server
    schema = bounded_schema(DifficultyRating.model_json_schema())
    assert schema["properties"]["rating"] == {"title": "Rating", "enum": [0, 1, 2, 3, 4]}
    for language, seed in (("en", SEEDS[0]), ("zh", SEEDS[1])):
        for _ in range(3):
            reply = _post(base, {"messages": judge_messages({**seed, "options": None}, language),
                                 "max_tokens": 96, "temperature": 1.0,
                                 "response_format": {"type": "json_object", "schema": schema}})
            content = reply["choices"][0]["message"]["content"]
            data = json.loads(content[content.index("{"):content.rindex("}") + 1])
            assert data["rating"] in range(5), content


def test_models_answers_while_both_instances_generate(server: tuple[str, Path]) -> None:
    base, _ = server
    # the grammar holds each generation open for at least 400 characters
    schema = {"type": "object", "properties": {"text": {"type": "string", "minLength": 400, "maxLength": 500}},
              "required": ["text"]}
    body = {"messages": [{"role": "user", "content": "Count from one to one hundred in words."}],
            "max_tokens": 400, "temperature": 0.0, "response_format": {"type": "json_object", "schema": schema}}
    threads = [threading.Thread(target=_post, args=(base, body)) for _ in range(2)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    with urllib.request.urlopen(f"{base}/models", timeout=60) as resp:
        models = json.loads(resp.read())
    busy = [t.is_alive() for t in threads]  # still generating when /models had answered: it was not queued
    for t in threads:
        t.join()
    assert models["data"][0]["id"] == "smollm2"
    assert all(busy), "a generation ended before /models answered"


def test_bad_requests_get_a_400_naming_the_problem(server: tuple[str, Path]) -> None:
    base, _ = server
    for body, expected in (({"messages": "hi"}, "messages"), ({"messages": [], "tools": []}, "tools"),
                           ({"messages": [{"role": "user", "content": "x"}], "stream": True}, "stream")):
        request = urllib.request.Request(f"{base}/chat/completions", data=json.dumps(body).encode())
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(request, timeout=30)
        assert err.value.code == 400 and expected in err.value.read().decode()
