"""Token counts are the same whether texts are encoded together or in batches (issue 31: only the lengths of a
batch outlive it), for English, Chinese and missing texts."""

from __future__ import annotations

import polars as pl
import pytest

from linksyn_assets.qc import token_count
from linksyn_assets.qc.token_count import TokenCounter


def test_batched_counts_equal_one_text_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = TokenCounter()
    texts = pl.Series(["Photosynthesis converts light into chemical energy.", "光合作用把光能转化为化学能。", None,
                       "", "Compute \\sin 30^\\circ + 1", "二氧化碳浓度 CO2 与光照强度", "x" * 500])
    expected = [len(counter._tiktoken.encode_ordinary(t or "")) for t in texts.to_list()]
    monkeypatch.setattr(token_count, "COUNT_BATCH", 3)  # batch boundaries fall inside the list
    counted = counter.count(texts)
    assert counted.to_list() == expected
    assert counted.dtype == pl.Int64 and counted[2] == 0 and counted[1] > 5
