"""Seed folders from untrusted archives (issue 30): a file reached through a link never shows its content in a
reason, links leading outside the folder are listed (and refused when asked), and what reasons quote of a row is
short and escaped, in English and Chinese."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from linksyn_assets.seeds.readers import REASON_CHARS, read_seed_dir
from linksyn_assets.text.excerpt import excerpt
from resources.seed_source import SeedSourceResource

SECRET = "root:x:0:0:TOP-SECRET-LINE:/root:/bin/bash"


def _everything_said(load) -> str:  # noqa: ANN001 -- a SeedLoad
    return json.dumps([load.quarantine.to_dicts(), load.skipped_files, load.files], ensure_ascii=False)


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    outside = tmp_path / "etc"
    outside.mkdir()
    (outside / "passwd").write_text(f"{SECRET}\ndaemon:x:1:1:{SECRET}\n", encoding="utf-8")
    folder = tmp_path / "seeds"
    folder.mkdir()
    (folder / "ok.jsonl").write_text(json.dumps({"question": "牛顿第二定律的表达式是？", "options": ["F=ma", "E=mc^2"],
                                                 "answer": "A", "discipline": "physics"}, ensure_ascii=False) + "\n",
                                     encoding="utf-8")
    for name in ("outside.csv", "outside.jsonl", "outside.json"):
        (folder / name).symlink_to(outside / "passwd")
    return folder


def test_a_linked_file_outside_the_folder_never_reaches_a_reason(archive: Path) -> None:
    load = read_seed_dir(archive)
    assert load.seeds.height == 1
    assert set(load.outside_links) == {"outside.csv", "outside.jsonl", "outside.json"}
    assert all(target.endswith("etc/passwd") for target in load.outside_links.values())
    said = _everything_said(load)
    assert "TOP-SECRET" not in said and "root:x" not in said
    assert set(load.skipped_files) == set(load.outside_links)  # read, and nothing usable in them


def test_refuse_reads_no_linked_file(archive: Path) -> None:
    load = read_seed_dir(archive, outside_links="refuse")
    assert load.seeds.height == 1 and load.rows_read == 1  # only ok.jsonl was opened
    assert all("source.outside_links = refuse" in load.skipped_files[name] for name in load.outside_links)
    assert "TOP-SECRET" not in _everything_said(load)
    with pytest.raises(ValueError, match="outside_links"):
        read_seed_dir(archive, outside_links="maybe")


def test_the_seed_source_lists_links_for_the_summary_and_metadata(archive: Path, data_dir: Path) -> None:
    source = SeedSourceResource(path=str(archive), outside_links="refuse")
    assert set(source.outside()) == {"outside.csv", "outside.jsonl", "outside.json"}
    assert source.seed_disciplines() == ["physics"]


@pytest.mark.parametrize("question", [
    "\u202eWhich is right? " + "x" * 5000 + "evil\u200b",
    "\u202e下列说法正确的是？\u2028新行" + "很长的题干" * 1000,
])
def test_row_reasons_and_previews_are_short_and_escaped(tmp_path: Path, question: str) -> None:
    good = {"question": "What is 2+2?", "options": ["3", "4"], "answer": "B", "discipline": "mathematics"}
    bad = {"question": question, "options": ["a", "b"], "answer": "Z\u202e" + "Q" * 3000, "discipline": "mathematics"}
    (tmp_path / "mixed.jsonl").write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in (good, bad)) + "\n",
                                          encoding="utf-8")
    load = read_seed_dir(tmp_path)
    (row,) = load.quarantine.filter(pl.col("source_row") == 2).to_dicts()
    assert len(row["reason"]) <= REASON_CHARS + 1 and len(row["raw"]) <= 161
    for text in (row["reason"], row["raw"]):
        assert not any(c in text for c in "\u202e\u200b\u2028\n")  # shown as escapes, never acted on
    assert "\\u202e" in row["raw"]


def test_a_file_with_no_usable_row_keeps_no_content(tmp_path: Path) -> None:
    lines = [json.dumps({"question": f"私密内容 {i}", "answer": "Z", "options": ["甲", "乙"]}, ensure_ascii=False)
             for i in range(3)]
    (tmp_path / "notes.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    load = read_seed_dir(tmp_path)
    assert load.seeds.height == 0 and load.quarantine.filter(pl.col("source_row") > 0).height == 3
    assert "私密内容" not in _everything_said(load)
    assert (load.quarantine.filter(pl.col("source_row") > 0)["raw"] == "").all()


def test_excerpt_escapes_what_could_hide_or_forge_text() -> None:
    assert excerpt("a\nb\tc\u200bd\u202ee") == "a\\nb\\tc\\u200bd\\u202ee"
    assert excerpt("汉字" * 100, 10) == "汉字" * 5 + "…"
    assert excerpt("ok") == "ok"
