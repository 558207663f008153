"""The code location: `dagster dev -w workspace.yaml`. It only assembles the definitions."""

from linksyn_assets.location import build_definitions

defs = build_definitions()
