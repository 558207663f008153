"""The seed source: a directory (or file) of seed QA in any supported format."""


from pathlib import Path

import dagster as dg
from pydantic import Field

from linksyn_assets.seeds.readers import MAX_FIELD_CHARS, SeedLoad, read_seed_dir, seed_files
from linksyn_assets.storage import SAMPLE_SEEDS_DIR, file_stamps

# One scan per process and source state: every partition of `seeds` reads the same files.
_scans: dict[tuple[str, str, int, tuple[tuple[str, int, int], ...]], SeedLoad] = {}


class SeedSourceResource(dg.ConfigurableResource):
    path: str = Field("", description="seed directory or file; empty = the bundled sample seeds")
    default_discipline: str = Field("general", description="for rows that name no discipline")
    max_field_chars: int = Field(MAX_FIELD_CHARS, ge=100, description="a seed row with a longer question, option, "
                                 "answer or explanation is quarantined (one runaway field costs prompt tokens)")

    def root(self) -> Path:
        return Path(self.path).expanduser().resolve() if self.path else SAMPLE_SEEDS_DIR

    def fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        """(file, size, mtime_ns) of every seed file: changes when the source changes."""
        root = self.root()
        if not root.exists():
            raise FileNotFoundError(f"seed source {root} does not exist")
        return file_stamps(seed_files(root))

    def load(self) -> SeedLoad:
        key = (str(self.root()), self.default_discipline, self.max_field_chars, self.fingerprint())
        if key not in _scans:
            _scans.clear()
            _scans[key] = read_seed_dir(self.root(), self.default_discipline, self.max_field_chars)
        return _scans[key]

    def disciplines(self) -> list[str]:
        load = self.load()
        found = set(load.seeds["discipline"].to_list()) | set(load.quarantine["discipline"].to_list())
        return sorted(d for d in found if d)
