"""The reply reader on the shapes reasoning models come back in, English and Chinese: the JSON is read only from
the answer after the thought, whatever braces and drafts the thought holds."""

from __future__ import annotations

import json

import pytest

from linksyn_assets.llm.records import parse_json_answer
from linksyn_assets.llm.reply_reader import BlankReply, answer_json, read_json_answer, split_reply
from linksyn_assets.records import DifficultyRating, KPExtraction

EN_ANSWER = {"knowledge_points": [{"name": "geometric series", "canonical_en": "geometric series"}],
             "discipline": None, "difficulty": 2}
ZH_ANSWER = {"knowledge_points": [{"name": "等比数列", "canonical_en": "geometric sequence"}],
             "discipline": None, "difficulty": 3}
# What R1 thinks about a maths question: LaTeX braces, a set, and a drafted object that validates too.
EN_THOUGHT = ('Okay, the sum is \\frac{a_1}{1-q} with x^{2} terms and \\{x \\mid |q|<1\\}. Draft: '
              '{"knowledge_points": [{"name": "draft"}], "difficulty": 0} Hmm, no, that misses the ratio.')
ZH_THOUGHT = ('好的，和为 \\frac{a_1}{1-q}，集合 \\{x \\mid |q|<1\\}。草稿：{"knowledge_points": [{"name": "草稿"}], '
              '"difficulty": 0} 不对，漏了公比。')
CASES = [(EN_THOUGHT, EN_ANSWER), (ZH_THOUGHT, ZH_ANSWER)]


def _parsed(content: str, reasoning: str | None = None) -> tuple[dict, str | None]:
    split = split_reply(content, reasoning)
    return answer_json(split, content, KPExtraction), split.reasoning


@pytest.mark.parametrize(("thought", "answer"), CASES)
@pytest.mark.parametrize("template", [
    "<think>\n{t}\n</think>\n\n{a}",          # explicit block (Together, SambaNova, vLLM without a parser)
    "{t}\n</think>\n\n{a}",                   # implicit opening: the chat template wrote <think>
    "<THINK>{t}</Think>{a}",                  # any case
    "<thinking>\n{t}\n</thinking>\n{a}",      # other tag names hosts use
    "<reasoning>{t}</reasoning>\n\n{a}",
    "<think>{t}</think>\n<think>more: {{}}</think>\n{a}",  # two thought blocks
])
def test_the_answer_after_the_thought_is_read_and_the_thought_kept(thought: str, answer: dict,
                                                                   template: str) -> None:
    content = template.format(t=thought, a=json.dumps(answer, ensure_ascii=False))
    data, reasoning = _parsed(content)
    assert data == answer  # not the drafted object inside the thought
    assert reasoning and thought.split("Draft")[0].split("草稿")[0].strip()[:20] in reasoning
    assert "</think>" not in reasoning.lower() and "<think>" not in reasoning.lower()


@pytest.mark.parametrize(("thought", "answer"), CASES)
def test_reasoning_from_a_field_and_a_fenced_answer_with_prose_before_it(thought: str, answer: dict) -> None:
    text = json.dumps(answer, ensure_ascii=False, indent=1)
    content = f"Here is the JSON for {{the question}} (sets like {{x | x>1}}):\n```json\n{text}\n```\nDone."
    data, reasoning = _parsed(content, reasoning=thought)
    assert data == answer and reasoning == thought
    # the same without a fence: the object inside prose, after a drafted one
    draft = json.dumps({**answer, "knowledge_points": [{"name": "draft"}]}, ensure_ascii=False)
    assert _parsed(f"First try {draft}; final answer: {text} as asked.")[0] == answer


@pytest.mark.parametrize(("thought", "answer"), CASES)
def test_a_reply_cut_inside_the_thought_is_not_read_as_an_answer(thought: str, answer: dict) -> None:
    split = split_reply(f"<think>\n{thought}")  # stopped before </think>: the drafted object must not count
    assert split.thought_open and not split.answer and split.reasoning == thought
    with pytest.raises(BlankReply, match="inside its thought"):
        answer_json(split, f"<think>\n{thought}", KPExtraction)
    with pytest.raises(ValueError, match="inside its thought"):
        parse_json_answer(f"<think>\n{thought}", KPExtraction)


@pytest.mark.parametrize("content", ["", "   \n\t ", "<think>all thought</think>   \n"])
def test_blank_answers_are_told_apart_from_bad_json(content: str) -> None:
    with pytest.raises(BlankReply):
        answer_json(split_reply(content), content, KPExtraction)
    with pytest.raises(ValueError, match="invalid JSON") as caught:
        read_json_answer('{"knowledge_points": [', KPExtraction)
    assert not isinstance(caught.value, BlankReply)


def test_a_closing_tag_inside_the_answer_falls_back_to_the_first_one() -> None:
    answer = {"rating": 3, "reason": "the question asks what </think> does in a chat template"}
    content = f"<think>easy {{1}}</think>{json.dumps(answer)}"
    assert parse_json_answer(content, DifficultyRating) == answer


def test_schema_mismatch_names_the_field_and_plain_replies_take_the_fast_path() -> None:
    with pytest.raises(ValueError, match="schema mismatch: rating"):
        parse_json_answer('{"rating": 9, "reason": "x"}', DifficultyRating)
    assert parse_json_answer('{"rating": 2, "reason": "难度适中"}', DifficultyRating) == {"rating": 2,
                                                                                    "reason": "难度适中"}
    assert split_reply('{"rating": 2}', None).reasoning is None
