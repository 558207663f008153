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
