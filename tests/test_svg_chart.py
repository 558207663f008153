"""The SVG plots in asset metadata: valid XML, every label shown as text (Chinese and hostile names included)."""

from __future__ import annotations

import base64
import re
import xml.etree.ElementTree as ET

from linksyn_assets.svg_chart import bar_chart, markdown_image

NS = "{http://www.w3.org/2000/svg}"


def test_bars_are_proportional_and_labels_are_text_in_both_languages() -> None:
    svg = bar_chart({"target": {"physics": 0.5, "数学": 0.25, "<script>&x": 0.25},
                     "released": {"physics": 0.2, "数学": 0.8}}, "Discipline mix", "share")
    root = ET.fromstring(svg)  # escaped: a hostile label cannot break the document
    texts = [t.text for t in root.iter(f"{NS}text")]
    assert {"physics", "数学", "<script>&x", "target", "released", "Discipline mix"} <= set(texts)
    widths = [float(r.get("width")) for r in list(root.iter(f"{NS}rect"))[1:]]  # the first is the background
    # rows in label order, a bar per series: physics (0.5, 0.2), 数学 (0.25, 0.8), <script>&x (0.25, 0)
    assert widths[3] == max(widths) and abs(widths[0] / widths[3] - 0.5 / 0.8) < 1e-3
    assert widths[5] == 0.0  # a series without the label draws an empty bar


def test_markdown_image_embeds_the_svg() -> None:
    svg = bar_chart({"USD": {"extract": 0.1, "synthesize": 0.3}}, "Cost", "USD")
    md = markdown_image(svg, "cost by stage")
    match = re.fullmatch(r"!\[cost by stage\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", md)
    assert match and base64.b64decode(match.group(1)).decode("utf-8") == svg


def test_the_legend_stands_beside_the_plot_and_equal_series_stay_distinguishable() -> None:
    """The coverage plot's two curves can coincide: each has its own dash and width, and the legend is in a
    column right of the plot area, so it never covers a curve (Chinese names too)."""
    from linksyn_assets.svg_chart import chart

    same = ([1, 2, 3, 4], [0.1, 0.3, 0.5, 0.6])
    svg = chart({"value-guided": same, "均匀 (uniform)": same}, "KP coverage vs paths", "paths", "share")
    root = ET.fromstring(svg)
    curves = list(root.iter(f"{NS}polyline"))
    assert len(curves) == 2 and curves[0].get("points") == curves[1].get("points")
    assert curves[0].get("stroke-dasharray") != curves[1].get("stroke-dasharray")
    assert float(curves[0].get("stroke-width")) > float(curves[1].get("stroke-width"))  # the solid one shows under
    plot_right = max(float(x) for c in curves for x in c.get("points").replace(" ", ",").split(",")[::2])
    legend = [t for t in root.iter(f"{NS}text") if t.text in ("value-guided", "均匀 (uniform)")]
    assert len(legend) == 2 and all(float(t.get("x")) > plot_right for t in legend)


def test_bar_legend_is_a_row_above_the_bars() -> None:
    svg = bar_chart({"target": {"physics": 1.0}, "released": {"physics": 1.0}}, "Mix", "share")
    root = ET.fromstring(svg)
    bars = list(root.iter(f"{NS}rect"))[1:]
    legend = [t for t in root.iter(f"{NS}text") if t.text in ("target", "released")]
    assert len(legend) == 2 and all(float(t.get("y")) < min(float(b.get("y")) for b in bars) for t in legend)
