"""Where LinkSyn keeps its data and Dagster's instance, unless the environment says otherwise."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SAMPLE_SEEDS_DIR = PROJECT_ROOT / "linksyn_assets" / "sample_seeds"


def data_dir() -> Path:
    """LINKSYN_DATA_DIR, else <project>/data."""
    return Path(os.environ.get("LINKSYN_DATA_DIR") or PROJECT_ROOT / "data").resolve()


def dagster_home() -> Path:
    """DAGSTER_HOME, else <project>/.dagster_home."""
    return Path(os.environ.get("DAGSTER_HOME") or PROJECT_ROOT / ".dagster_home").resolve()
