"""Typed reports: what an asset reports is written as metadata by one function and read back by one reader, so
every field survives the trip (a renamed field is one edit, not three layers reading a key that is gone)."""

from __future__ import annotations

import types
import typing
from typing import Any

import dagster as dg
import polars as pl
import pytest
from pydantic import BaseModel

from linksyn_assets.assets.metadata import DETAILS, catalog, read_report
from linksyn_assets.reports import REPORTS, LLMBatchReport, Report, llm_batches


def _sample(annotation: Any, name: str) -> Any:
    """A value of the field's type that is not its default (Chinese text included)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        return _sample(next(a for a in args if a is not type(None)), name)
    if origin is list:
        return [_sample(args[0], name)]
    if origin is dict:
        return {"化学": _sample(args[1], name)}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return _filled(annotation)
    return {int: 7, float: 0.25, str: f"{name} 值", bool: True}.get(annotation, {"k": 1})


def _filled(kind: type[BaseModel]) -> BaseModel:
    return kind.model_validate({name: _sample(info.annotation, name) for name, info in kind.model_fields.items()})


@pytest.mark.parametrize("asset", sorted(REPORTS))
def test_every_report_field_survives_the_metadata_round_trip(asset: str) -> None:
    report = _filled(REPORTS[asset])
    table = pl.DataFrame({"question": ["什么是牛顿第二定律？", "What is inertia?"]})
    metadata = catalog(report, table, {"preview": dg.MetadataValue.md("| a |")}, {"settings": {"walk": {}}})
    mat = dg.AssetMaterialization(asset_key=asset, metadata=metadata)
    back = read_report(asset, mat)
    assert back == report, asset
    shown = set(metadata) - {DETAILS, "dagster/row_count", "dagster/column_schema", "preview"}
    # the rest is in details; a reused materialization also shows the run that made its table
    assert shown == {k for k in (*report.SHOWN, "unchanged_since_run") if getattr(report, k) is not None}
    assert "settings" in metadata[DETAILS].value  # UI-only values ride along but are not part of the report


def test_a_report_read_from_metadata_it_does_not_know_fails_to_nothing_silent() -> None:
    """Old metadata (written before a field existed) reads as the default; a wrong type is an error."""
    mat = dg.AssetMaterialization(asset_key="walk_paths", metadata={"rows": 5, "unknown_key": 1})
    walk = read_report("walk_paths", mat)
    assert walk.rows == 5 and walk.paths_new == 0
    bad = dg.AssetMaterialization(asset_key="walk_paths", metadata={"rows": "five"})
    with pytest.raises(ValueError, match="rows"):
        read_report("walk_paths", bad)


def test_llm_batches_finds_own_and_nested_batches() -> None:
    hard = REPORTS["hard_qa"].model_validate({"llm_stage": "harden", "judge": {"llm_stage": "judge"}})
    assert [b.llm_stage for b in llm_batches(hard)] == ["harden", "judge"]
    dataset = REPORTS["linkqa_dataset"].model_validate({"verifier": {"llm_stage": "verify"}})
    assert [b.llm_stage for b in llm_batches(dataset)] == ["verify"]
    assert llm_batches(Report()) == []
    assert isinstance(llm_batches(hard)[1], LLMBatchReport)
