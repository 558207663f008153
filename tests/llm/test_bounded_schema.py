"""The embedded demo model's grammar is bounded; every other route's schema and request keys are untouched."""

import json

from linksyn_assets.llm.embedded.grammar import bounded_schema
from linksyn_assets.llm.records import ModelRoute
from linksyn_assets.records import DifficultyRating, HardeningAnswer, KPExtraction, SynthesisAnswer

EMBEDDED = ModelRoute(model="openai/smollm2", cache_identity="embedded/x", structured_output="json_object",
                      embedded=True)
VLLM = ModelRoute(model="hosted_vllm/r1", cache_identity="r1", structured_output="auto")
DEEPSEEK = ModelRoute(model="deepseek/deepseek-v4-pro", cache_identity="ds")


def _strings(node, found):
    if isinstance(node, dict):
        if node.get("type") == "string":
            found.append(node)
        for value in node.values():
            _strings(value, found)
    elif isinstance(node, list):
        for value in node:
            _strings(value, found)
    return found


def test_every_string_array_and_small_integer_range_is_bounded():
    for model in (KPExtraction, SynthesisAnswer, HardeningAnswer, DifficultyRating):
        schema = bounded_schema(model.model_json_schema())
        assert all("maxLength" in s for s in _strings(schema, [])), model.__name__
        text = json.dumps(schema)
        assert '"minimum"' not in text and '"maximum"' not in text  # ranges became enums
    kp = bounded_schema(KPExtraction.model_json_schema())
    assert kp["properties"]["knowledge_points"]["maxItems"] == 3
    assert kp["$defs"]["KPName"]["properties"]["name"]["maxLength"] == 24
    assert kp["properties"]["difficulty"]["anyOf"][0] == {"enum": [0, 1, 2, 3, 4]}
    qa = bounded_schema(SynthesisAnswer.model_json_schema())["$defs"]["GeneratedQA"]["properties"]
    assert qa["question"]["minLength"] == 24 and qa["solution"]["minLength"] == 16  # what the row rules need
    assert qa["answer"]["minLength"] == 1  # pydantic's own bound stays where none is added
    original = KPExtraction.model_json_schema()
    assert "maxLength" not in json.dumps(original)  # a copy: the model's own schema is unchanged


def test_answers_within_the_bounds_still_validate_in_english_and_chinese():
    for kps in ([{"name": "Newton's second law", "canonical_en": "Newton's second law"}],
                [{"name": "牛顿第二定律", "canonical_en": "Newton's second law"}, {"name": "加速度"}]):
        assert KPExtraction.model_validate({"knowledge_points": kps, "difficulty": 4}).difficulty == 4
    qa = {"question": "质量为2千克的物体受到6牛的合力，加速度是多少？", "answer": "3 m/s^2",
          "solution": "由 F = ma 得 a = 3。", "options": None, "knowledge_points_used": ["牛顿第二定律"]}
    assert SynthesisAnswer.model_validate({"items": [qa]}).items[0].question.startswith("质量")
    cap = bounded_schema(SynthesisAnswer.model_json_schema())["$defs"]["GeneratedQA"]["properties"]
    assert len(qa["question"]) <= cap["question"]["maxLength"] and len(qa["solution"]) <= cap["solution"]["maxLength"]


def test_only_the_embedded_route_sends_and_keys_the_bounded_schema():
    plain = KPExtraction.model_json_schema()
    for route in (VLLM, DEEPSEEK):
        assert route.key_schema(KPExtraction) == plain  # request keys of real models do not change
    assert VLLM.response_format(KPExtraction)["json_schema"]["schema"] == plain
    bounded = bounded_schema(plain)
    assert EMBEDDED.key_schema(KPExtraction) == bounded
    assert EMBEDDED.response_format(KPExtraction) == {"type": "json_object", "schema": bounded}


def test_the_embedded_model_is_sent_the_prompt_without_the_schema_text():
    from linksyn_assets.prompts.messages import extraction_messages, synthesis_messages

    seed = {"seed_id": "s1", "question": "质量为2千克的物体受到6牛的合力，加速度是多少？", "answer": "3"}
    for messages in (extraction_messages(seed),
                     synthesis_messages([seed], ["牛顿第二定律"], 2, 1, "zh", "short_answer"),
                     synthesis_messages([seed], ["Newton's second law"], 2, 1, "en", "calculation")):
        sent = EMBEDDED.outgoing(messages)
        assert "JSON schema" in messages[0]["content"] and "JSON schema" not in sent[0]["content"]
        assert sent[0]["content"].endswith("Reply with one JSON object only, no prose and no code fences")
        assert len(sent[0]["content"]) < len(messages[0]["content"]) - 300
        assert sent[1:] == messages[1:]  # the seed and KPs (user message) are untouched, Chinese included
        assert VLLM.outgoing(messages) == messages and DEEPSEEK.outgoing(messages) == messages
