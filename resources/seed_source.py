"""The seed source: a directory (or file) of seed QA in any supported format."""


from pathlib import Path

import dagster as dg
from pydantic import Field, PrivateAttr

from linksyn_assets.layout import corpus_dir
from linksyn_assets.seeds.parsed_cache import ensure_parsed, read_meta, read_parsed, source_version
from linksyn_assets.seeds.readers import MAX_FIELD_CHARS, SeedLoad, source_files, stream_seed_dir
from linksyn_assets.storage import SAMPLE_SEEDS_DIR, file_stamps


class SeedSourceResource(dg.ConfigurableResource):
    path: str = Field("", description="seed directory or file; empty = the bundled sample seeds")
    default_discipline: str = Field("general", description="for rows that name no discipline")
    max_field_chars: int = Field(MAX_FIELD_CHARS, ge=100, description="a seed row with a longer question, option, "
                                 "answer or explanation is quarantined (one runaway field costs prompt tokens)")

    outside_links: str = Field("follow", description="files reached through a link that leads outside the seed "
                               "folder (as an untrusted archive may hold): follow (read them, and list them) or "
                               "refuse (list them, read nothing)")

    def root(self) -> Path:
        return Path(self.path).expanduser().resolve() if self.path else SAMPLE_SEEDS_DIR

    def fingerprint(self) -> tuple[tuple[str, int, int], ...]:
        """(file, size, mtime_ns) of every file of the source (unused ones are reported): changes when it changes."""
        root = self.root()
        if not root.exists():
            raise FileNotFoundError(f"seed source {root} does not exist")
        return file_stamps(source_files(root))

    def parsed(self) -> Path:
        """The folder of the parsed source (parsed now if this version of the source was not parsed yet)."""
        version = source_version(self.root(), self.default_discipline, self.max_field_chars, self.fingerprint(),
                                 self.outside_links)
        folder, _ = ensure_parsed(corpus_dir("seeds"), version, lambda write: stream_seed_dir(
            self.root(), write, self.default_discipline, self.max_field_chars, self.outside_links))
        return folder

    _scan: tuple[Path, SeedLoad] | None = PrivateAttr(default=None)

    def load(self) -> SeedLoad:
        """The whole parsed source (every discipline), read once per version of it by this resource."""
        folder = self.parsed()
        if self._scan is None or self._scan[0] != folder:
            self._scan = (folder, read_parsed(folder))
        return self._scan[1]

    def load_discipline(self, discipline: str) -> SeedLoad:
        """One discipline's seeds and quarantined rows; file and row counts are the whole source's."""
        return read_parsed(self.parsed(), discipline)

    def disciplines(self) -> list[str]:
        """Every discipline in the source, including those whose rows were all quarantined."""
        return sorted(d for d in read_meta(self.parsed())["disciplines"] if d)

    def skipped_files(self) -> dict[str, str]:
        """file -> why none of its rows was used (not a seed format, unreadable, every row quarantined)."""
        return dict(read_meta(self.parsed())["skipped_files"])

    def outside(self) -> dict[str, str]:
        """file -> where its link leads, for files reached through links leading outside the seed folder."""
        return dict(read_meta(self.parsed()).get("outside_links", {}))

    def seed_disciplines(self) -> list[str]:
        """The disciplines with at least one valid seed."""
        return sorted(d for d in read_meta(self.parsed())["seed_disciplines"] if d)
