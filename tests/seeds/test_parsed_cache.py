"""The seed source is parsed once per version and shared by every discipline partition; any change to a seed
file (or the reader settings) is a new version."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import resources.seed_source as seed_source_module
from resources.seed_source import SeedSourceResource
from tests.conftest import write_jsonl


def test_the_source_is_parsed_once_and_each_discipline_reads_its_rows(tmp_path: Path, data_dir: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "seeds"
    write_jsonl(folder / "mixed.jsonl", [
        {"question": "什么是熵？", "answer": "无序程度的量度", "discipline": "物理学"},
        {"question": "What is a derivative?", "answer": "a rate of change", "discipline": "mathematics"},
        {"question": "没有答案的问题？", "discipline": "物理学"},  # quarantined: no answer
        {"question": "What is an integral?", "answer": "an accumulated area", "discipline": "mathematics"},
    ])
    parses = []
    real = seed_source_module.stream_seed_dir

    def counting(*args: object, **kwargs: object) -> object:
        parses.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(seed_source_module, "stream_seed_dir", counting)
    source = SeedSourceResource(path=str(folder))
    disciplines = source.disciplines()
    assert len(disciplines) == 2 and "mathematics" in disciplines
    physics = next(d for d in disciplines if d != "mathematics")
    math = source.load_discipline("mathematics")
    chinese = source.load_discipline(physics)
    assert math.seeds["question"].to_list() == ["What is a derivative?", "What is an integral?"]
    assert chinese.seeds["question"].to_list() == ["什么是熵?"] and chinese.quarantine.height == 1  # NFKC
    assert math.quarantine.height == 0 and math.rows_read == chinese.rows_read == 4  # counts are the source's
    assert SeedSourceResource(path=str(folder)).load().seeds.height == 3  # a new resource, as in another run
    assert len(parses) == 1 and len(list((data_dir / "corpus" / "seeds").glob("*/meta.json"))) == 1

    write_jsonl(folder / "mixed.jsonl", [{"question": "What is a limit?", "answer": "a value approached",
                                          "discipline": "mathematics"}])
    os.utime(folder / "mixed.jsonl", ns=(1, 1))  # a changed file, whatever its time
    assert source.load_discipline("mathematics").seeds["question"].to_list() == ["What is a limit?"]
    assert source.disciplines() == ["mathematics"]
    SeedSourceResource(path=str(folder), max_field_chars=500).load_discipline("mathematics")  # other settings
    assert len(parses) == 3
