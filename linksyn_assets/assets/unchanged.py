"""Work already done is not done again: an asset partition whose recipe (recipes.py: code, settings, model
routes, the content versions of its inputs) equals the one of its last complete materialization reuses the
stored table. The check reads the event log and stats files; inputs are scanned lazily, so nothing is read."""

from pathlib import Path
from typing import Any

import dagster as dg
import polars as pl

from linksyn_assets.assets.metadata import (
    DETAILS,
    RECIPE,
    Previous,
    data_versions,
    json_meta,
    previous,
    reused_metadata,
)
from linksyn_assets.recipes import recipe_hash, table_digest


def _upstream_versions(context: dg.AssetExecutionContext) -> dict[str, dict[str, str | None]]:
    """Every input and dep of the asset (all of them partitioned): the data version of each partition read."""
    return {key.to_user_string(): data_versions(context.instance, key.to_user_string(),
                                                list(context.asset_partition_keys_for_input(name)))
            for name, key in sorted(context.assets_def.keys_by_input_name.items())}


def recipe(context: dg.AssetExecutionContext, **parts: Any) -> str:
    """This materialization's recipe: the asset, its partition, its inputs' versions and `parts` (the settings
    and anything else it reads outside its inputs)."""
    return recipe_hash({"asset": context.asset_key.to_user_string(),
                        "partition": context.partition_key if context.has_partition_key else None,
                        "upstream": _upstream_versions(context), **parts})


def reusable(context: dg.AssetExecutionContext, made_from: str, stored: list[Path]) -> Previous | None:
    """The last materialization when it was made from the same recipe, answered every request and its files are
    still there; None when the asset has to run."""
    prior = previous(context.instance, context.asset_key.to_user_string(),
                     context.partition_key if context.has_partition_key else None)
    if prior is None or prior.recipe != made_from:
        return None
    if not prior.report.complete:
        context.log.info("inputs, settings and code are unchanged, but the last materialization left LLM requests "
                         "unanswered: running again to ask them")
        return None
    gone = [str(path) for path in stored if not path.exists()]
    if gone:
        context.log.warning(f"inputs, settings and code are unchanged, but stored files are gone ({gone}): "
                            "making them again")
        return None
    made_by = prior.report.unchanged_since_run or prior.run_id  # the run that made the table, not a later reuse
    context.log.info(f"unchanged since run {made_by}: same inputs, settings and code; the stored table is "
                     "reused and nothing is recomputed")
    return prior


def reused(prior: Previous) -> dict[str, Any]:
    """Output/MaterializeResult arguments of a reuse: the previous data version and metadata."""
    return {"data_version": dg.DataVersion(prior.data_version or ""), "metadata": reused_metadata(prior)}


def made(made_from: str, metadata: dict[str, Any], *tables: pl.DataFrame) -> dict[str, Any]:
    """Output/MaterializeResult arguments of a fresh materialization: its recipe and content version."""
    return made_as(table_digest(*tables), made_from, metadata)


def made_as(version: str, made_from: str, metadata: dict[str, Any]) -> dict[str, Any]:
    """The same for a table stored in parts, whose content version its store keeps (dataset_store)."""
    details = metadata[DETAILS].value if DETAILS in metadata else {}
    return {"data_version": dg.DataVersion(version),
            "metadata": {**metadata, DETAILS: json_meta({**details, RECIPE: made_from})}}
