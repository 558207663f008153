"""A stable per-discipline sample of the seeds, both languages in it."""

import polars as pl

from linksyn_assets.seeds.sample import sample_seeds


def _seeds() -> pl.DataFrame:
    rows = []
    for d in ("physics", "化学"):
        for i in range(6):
            rows.append({"seed_id": f"s_{d}_{i:02d}_en", "discipline": d, "language": "en",
                         "question": f"What is force number {i}?"})
            rows.append({"seed_id": f"s_{d}_{i:02d}_zh", "discipline": d, "language": "zh",
                         "question": f"第{i}个力是多少？"})
    return pl.DataFrame(rows)


def test_sample_takes_both_languages_in_turn_and_keeps_input_order():
    seeds = _seeds()
    small = sample_seeds(seeds, 3)
    assert small.group_by("discipline").len().sort("discipline")["len"].to_list() == [3, 3]
    for d in ("physics", "化学"):
        langs = small.filter(pl.col("discipline") == d)["language"].to_list()
        assert sorted(langs) in (["en", "en", "zh"], ["en", "zh", "zh"])
    positions = [seeds["seed_id"].to_list().index(s) for s in small["seed_id"]]
    assert positions == sorted(positions)
    assert small.columns == seeds.columns


def test_a_larger_sample_keeps_every_earlier_pick_and_none_is_everything():
    seeds = _seeds()
    for n in range(1, 12):
        assert set(sample_seeds(seeds, n)["seed_id"]) <= set(sample_seeds(seeds, n + 1)["seed_id"])
    assert sample_seeds(seeds, None).equals(seeds)
    assert sample_seeds(seeds, 100).height == seeds.height
    # the pick does not depend on the row order of the source
    assert set(sample_seeds(seeds.reverse(), 4)["seed_id"]) == set(sample_seeds(seeds, 4)["seed_id"])
