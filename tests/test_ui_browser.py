"""The Dagster UI in a real browser: `linksyn run` for two disciplines against the stub LLM, then
dagster-webserver on 127.0.0.1 over the same DAGSTER_HOME; the GraphQL API and headless Chromium (Debian's
`chromium` and `chromium-driver`, which .ci/run installs) must show the assets, partitions, checks, row counts,
column schemas, a plot and the release's quality plots. Screenshots are saved in the test's temp folder."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dagster_server import ROOT, dagster_server, graphql
from tests.stub_llm_server import StubServer

pytestmark = pytest.mark.browser
CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
PARTITIONED = ["hard_qa", "kp_graph", "linkqa_dataset", "seed_kps", "seeds", "synthesized_qa", "walk_paths"]


@pytest.fixture
def webserver(stub_env: StubServer, linked_seeds: Path, tmp_path: Path, data_dir: Path) -> Iterator[str]:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path / "home"), "LINKSYN_SEEDS": str(linked_seeds)}
    (tmp_path / "home").mkdir()
    run = subprocess.run([sys.executable, "-m", "linksyn_assets.cli", "run", "--paths-per-discipline", "2"],
                         env=env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
    with dagster_server("dagster-webserver", env, tmp_path / "webserver.log") as base:
        yield base


def _browser() -> object:
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    assert CHROMIUM.exists() and CHROMEDRIVER.exists(), "apt-get install chromium chromium-driver (.ci/run does)"
    options = Options()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--window-size=1400,1100"):
        options.add_argument(arg)
    return webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))


def _dismiss_welcome(driver: object) -> None:
    """The first visit shows a community sign-up dialog over the page: skip it."""
    for button in driver.find_elements("xpath", "//button[normalize-space(.)='Skip']"):  # type: ignore[attr-defined]
        button.click()


def _click(driver: object, element: object, timeout: float = 30) -> None:
    """Click, dismissing the community sign-up dialog when it comes up late and covers the element."""
    from selenium.common.exceptions import ElementClickInterceptedException

    deadline = time.monotonic() + timeout
    while True:
        try:
            element.click()  # type: ignore[attr-defined]
            return
        except ElementClickInterceptedException:
            if time.monotonic() > deadline:
                raise
            _dismiss_welcome(driver)
            time.sleep(0.5)


def _wait_for(driver: object, text: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    body = ""
    while time.monotonic() < deadline:
        body = driver.find_element("tag name", "body").text  # type: ignore[attr-defined]
        if text in body:
            return body
        time.sleep(0.5)
    raise AssertionError(f"{text!r} not on the page; it shows: {body[:1500]}")


def test_the_ui_shows_assets_partitions_checks_schemas_and_plots(webserver: str, tmp_path: Path) -> None:
    nodes = graphql(webserver, "{ assetNodes { assetKey { path } partitionKeys hasAssetChecks } }")["assetNodes"]
    by_name = {n["assetKey"]["path"][0]: n for n in nodes}
    assert sorted(by_name) == sorted([*PARTITIONED, "linkqa_release"])
    for name in PARTITIONED:
        assert by_name[name]["partitionKeys"] == ["mathematics", "physics"], name
    assert {n for n, v in by_name.items() if v["hasAssetChecks"]} == {
        "seeds", "seed_kps", "kp_graph", "walk_paths", "synthesized_qa", "linkqa_dataset"}
    checks = graphql(webserver, """{ assetNodes { assetKey { path } assetChecksOrError { __typename
        ... on AssetChecks { checks { name blocking executionForLatestMaterialization { status } } } } } }""")
    status = {c["name"]: (c["executionForLatestMaterialization"] or {}).get("status")
              for n in checks["assetNodes"] if n["assetChecksOrError"]["__typename"] == "AssetChecks"
              for c in n["assetChecksOrError"]["checks"]}
    assert len(status) == 8 and set(status.values()) == {"SUCCEEDED"}, status  # green after `linksyn run`
    blocking = {c["name"] for n in checks["assetNodes"] if n["assetChecksOrError"]["__typename"] == "AssetChecks"
                for c in n["assetChecksOrError"]["checks"] if c["blocking"]}
    assert blocking == {"seeds_well_formed", "seed_kps_extracted", "synthesized_qa_schema_valid",
                        "linkqa_dataset_quality"}

    latest = graphql(webserver, """{ assetNodes { assetKey { path }
        latestMaterializationByPartition(partitions: ["physics"]) { metadataEntries { label __typename } } } }""")
    shown = {n["assetKey"]["path"][0]: {e["label"]: e["__typename"] for m in n["latestMaterializationByPartition"]
                                        if m for e in m["metadataEntries"]}
             for n in latest["assetNodes"] if n["assetKey"]["path"][0] in PARTITIONED}
    for name, entries in shown.items():  # the catalog: counts, schema, a preview and one details block
        assert entries["dagster/row_count"] == "IntMetadataEntry", name
        assert entries["dagster/column_schema"] == "TableSchemaMetadataEntry", name
        assert entries["details"] == "JsonMetadataEntry" and len(entries) <= 12, name
        assert any(v == "MarkdownMetadataEntry" for k, v in entries.items() if "preview" in k or k == "top_kps"), name
    for name, plot in (("kp_graph", "degree_distribution"), ("walk_paths", "coverage_curve"),
                       ("walk_paths", "difficulty_mix"), ("hard_qa", "difficulty_before_after"),
                       ("linkqa_dataset", "quality_difficulty_plot"), ("linkqa_dataset", "quality_overlap_plot")):
        assert shown[name][plot] == "MarkdownMetadataEntry", plot
    release = graphql(webserver, """{ assetNodeOrError(assetKey: {path: ["linkqa_release"]}) { ... on AssetNode {
        assetMaterializations(limit: 1) { metadataEntries { label __typename } } } } }""")["assetNodeOrError"]
    entries = release["assetMaterializations"][0]["metadataEntries"]
    labels = {e["label"] for e in entries}
    assert {"discipline_mix_plot", "removed_by_reason_plot", "cost_by_stage_plot", "quality_difficulty_plot",
            "quality_overlap_plot", "card"} <= labels
    assert {e["label"]: e["__typename"] for e in entries}["quality_overlap_plot"] == "MarkdownMetadataEntry"

    driver = _browser()
    try:
        driver.get(f"{webserver}/assets/seeds?view=checks")
        body = _wait_for(driver, "seeds_well_formed")
        _dismiss_welcome(driver)
        assert "This is a blocking asset check." in _wait_for(driver, "Passed")
        driver.save_screenshot(str(tmp_path / "seeds_checks.png"))

        driver.get(f"{webserver}/assets/walk_paths")
        body = _wait_for(driver, "Row count")
        for column in ("path_id", "kp_ids", "seed_ids", "target_difficulty"):  # the column schema
            assert column in body
        driver.save_screenshot(str(tmp_path / "walk_paths_overview.png"))

        driver.get(f"{webserver}/assets/walk_paths?view=events&partition=physics")
        body = _wait_for(driver, "coverage_curve")
        assert "dagster/row_count" in body and "paths_new" in body
        links = driver.find_elements("xpath", "//*[normalize-space(text())='[Show Markdown]']")
        assert links, "no markdown metadata to open"
        links[0].click()  # coverage_curve: the plot, an SVG image
        deadline = time.monotonic() + 30
        images: list = []
        while time.monotonic() < deadline and not images:
            images = [i for i in driver.find_elements("tag name", "img")
                      if (i.get_attribute("alt") or "") == "KP coverage vs paths"]
            time.sleep(0.5)
        assert images and images[0].get_attribute("src").startswith("data:image/svg+xml")
        assert images[0].size["width"] > 100
        driver.save_screenshot(str(tmp_path / "walk_paths_coverage_plot.png"))

        # the release's quality plots: each one's markdown opened, the SVG image shown
        for plot, alt in (("quality_difficulty_plot", "quality difficulty"),
                          ("quality_overlap_plot", "quality overlap")):
            driver.get(f"{webserver}/assets/linkqa_release?view=events")
            _wait_for(driver, plot)
            _dismiss_welcome(driver)
            label = driver.find_element("xpath", f"//*[normalize-space(text())='{plot}']")
            # the entry's row of the metadata table, and its link
            link = label.find_element("xpath", "./ancestor::tr[1]").find_element(
                "xpath", ".//*[normalize-space(text())='[Show Markdown]']")
            _click(driver, link)
            deadline = time.monotonic() + 30
            images = []
            while time.monotonic() < deadline and not images:
                images = [i for i in driver.find_elements("tag name", "img") if (i.get_attribute("alt") or "") == alt]
                time.sleep(0.5)
            assert images and images[0].get_attribute("src").startswith("data:image/svg+xml"), plot
            assert images[0].size["width"] > 100, plot
            _dismiss_welcome(driver)
            driver.save_screenshot(str(tmp_path / f"release_{plot}.png"))
    finally:
        driver.quit()
    assert {p.name for p in tmp_path.glob("*.png")} == {
        "seeds_checks.png", "walk_paths_overview.png", "walk_paths_coverage_plot.png",
        "release_quality_difficulty_plot.png", "release_quality_overlap_plot.png"}
    shutil.copytree(tmp_path, tmp_path.parent / "ui-screenshots", dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("home", "data", "seeds", "*.log"))
