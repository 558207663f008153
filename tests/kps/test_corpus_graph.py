"""The corpus graph, built once, gives every discipline exactly the tables its partition held when it was
built on its own (tests/kps/reference_graph.py), so the walks are unchanged; its store is content-addressed."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from linksyn_assets.kps.corpus_graph import build_corpus_graph, partition_summary, partition_tables
from linksyn_assets.kps.corpus_store import content_version, ensure_corpus, read_corpus, read_summaries
from linksyn_assets.settings import WalkParams
from linksyn_assets.walks.csr_graph import WalkGraph
from linksyn_assets.walks.engine import WalkEngine, path_table
from tests.kps.reference_graph import build_graph_tables as reference_tables

DISCIPLINES = ["physics", "mathematics", "化学", "history"]
NAMES = ["熵", "entropy", "半衰期", "half-life", "导数", "derivative", "宋朝", "Song dynasty", "能量", "energy"]


def random_seed_kps(seed: int, seeds: int = 300, kps: int = 60) -> pl.DataFrame:
    """Seeds with 1-6 KPs over power-law KPs, KPs clustered by discipline with shared hubs; repeated
    (seed, kp) rows with other surface names and seeds without a KP included."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(seeds):
        discipline = DISCIPLINES[int(rng.integers(len(DISCIPLINES)))]
        home = DISCIPLINES.index(discipline)
        picks = rng.zipf(1.6, size=int(rng.integers(1, 7))) % kps
        picks = [int(p) if rng.random() < 0.3 else int(p) // 4 * 4 + home for p in picks]  # clustered + hubs
        if rng.random() < 0.05:
            rows.append((f"s{s:04d}", discipline, None, None, None))
        for kp in picks:
            surface = NAMES[kp % len(NAMES)] + ("" if rng.random() < 0.8 else "（别名）")
            rows.append((f"s{s:04d}", discipline, f"kp{kp:03d}", surface, int(rng.integers(0, 5))))
    return pl.DataFrame(rows, schema={"seed_id": pl.String, "discipline": pl.String, "kp_id": pl.String,
                                      "kp_name": pl.String, "difficulty": pl.Int64}, orient="row")


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_partition_view_equals_the_partition_built_on_its_own(seed: int) -> None:
    seed_kps = random_seed_kps(seed)
    corpus = build_corpus_graph(seed_kps)
    for discipline in DISCIPLINES:
        view, alone = partition_tables(corpus, discipline), reference_tables(seed_kps, discipline)
        for name, table in alone.as_dict().items():
            assert view.as_dict()[name].equals(table), (discipline, name)
        summary = partition_summary(corpus, discipline)
        assert summary["nodes"] == alone.nodes.height and summary["edges"] == alone.edges.height
        assert summary["home_kps"] == alone.nodes["in_discipline"].sum()


def test_walks_on_the_view_are_the_walks_on_the_partition_built_alone() -> None:
    seed_kps = random_seed_kps(7, seeds=800)
    params = WalkParams(paths_per_discipline=200, rng_seed=11)
    tables = {"view": partition_tables(build_corpus_graph(seed_kps), "physics"),
              "alone": reference_tables(seed_kps, "physics")}
    drawn = {}
    for name, t in tables.items():
        graph = WalkGraph.from_tables(t)
        result = WalkEngine(graph, params).run("physics", 200, np.full(5, 0.2))
        drawn[name] = path_table(graph, result, "physics", params)
    assert drawn["view"].height == 200 and drawn["view"].equals(drawn["alone"])


def test_a_version_is_built_once_and_read_back(tmp_path: Path) -> None:
    seed_kps = random_seed_kps(4)
    files = []
    for d in DISCIPLINES:
        path = tmp_path / "seed_kps" / f"{d}.parquet"
        path.parent.mkdir(parents=True, exist_ok=True)
        seed_kps.filter(pl.col("discipline") == d).write_parquet(path)
        files.append((d, path))
    version = content_version(files)
    assert version == content_version(files) and version != content_version(files[:-1])
    builds = []

    def build() -> object:
        builds.append(1)
        return build_corpus_graph(pl.scan_parquet([p for _, p in files]))

    folder, built = ensure_corpus(tmp_path / "corpus", version, build)
    again, built_again = ensure_corpus(tmp_path / "corpus", version, build)
    assert (built, built_again, len(builds), again) == (True, False, 1, folder)
    corpus = read_corpus(folder)
    view = partition_tables(corpus, "化学")
    assert view.nodes.equals(reference_tables(seed_kps, "化学").nodes)
    summary = read_summaries(folder).get("化学")
    assert summary is not None and summary["home_kps"] == view.nodes["in_discipline"].sum()
    assert json.loads(json.dumps(summary)) == summary  # plain JSON, Chinese names included
    assert sorted(read_summaries(folder)) == sorted(DISCIPLINES)
    # a changed input is a new version
    seed_kps.filter(pl.col("discipline") == "history").head(3).write_parquet(files[-1][1])
    assert content_version(files) != version


def test_components_agree_with_rustworkx() -> None:
    import rustworkx as rx

    islands = pl.DataFrame([("i1", "history", "zz_a", "甲", 1), ("i1", "history", "zz_b", "乙", 1),
                            ("i2", "history", "zz_c", "alone", 2)],
                           schema=["seed_id", "discipline", "kp_id", "kp_name", "difficulty"], orient="row")
    corpus = build_corpus_graph(pl.concat([random_seed_kps(5, seeds=120, kps=200), islands]))
    graph = rx.PyGraph()
    graph.add_nodes_from(range(corpus.nodes.height))
    graph.add_edges_from_no_data(list(zip(corpus.edges["a"].to_list(), corpus.edges["b"].to_list(), strict=True)))
    expected = sorted(sorted(c) for c in rx.connected_components(graph))
    label = corpus.nodes["component"].to_list()
    found: dict[int, list[int]] = {}
    for node, component in enumerate(label):
        found.setdefault(component, []).append(node)
    assert len(expected) > 1 and sorted(found.values()) == expected
