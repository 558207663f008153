"""Small SVG line, scatter and bar charts for asset metadata (shown by the Dagster UI as images)."""

from __future__ import annotations

import base64
import math
from collections.abc import Sequence
from html import escape

_COLOURS = ["#2563eb", "#dc2626", "#059669", "#d97706"]
# a dash pattern and width per series, so a series that lies on another stays visible (solid under dashed)
_DASHES = ["", "7 4", "2 3", "9 3 2 3"]
_WIDTHS = [3.5, 2.0, 2.0, 2.0]
_W, _H, _PAD = 520, 300, 48
_LEGEND = 150  # a column right of the plot: the legend never covers a curve


def _scale(values: Sequence[float], log: bool, lo_px: float, hi_px: float):  # noqa: ANN202
    vals = [math.log10(v) for v in values if v > 0] if log else list(values)
    lo, hi = (min(vals), max(vals)) if vals else (0.0, 1.0)
    span = (hi - lo) or 1.0

    def at(v: float) -> float:
        x = math.log10(v) if log else v
        return lo_px + (x - lo) / span * (hi_px - lo_px)

    return at, lo, hi


def chart(series: dict[str, tuple[Sequence[float], Sequence[float]]], title: str, x_label: str, y_label: str,
          log: bool = False, points: bool = False) -> str:
    """An SVG document; `log` puts both axes on a log10 scale (non-positive values are skipped)."""
    xs = [x for sx, sy in series.values() for x, y in zip(sx, sy, strict=True) if not log or (x > 0 and y > 0)]
    ys = [y for sx, sy in series.values() for x, y in zip(sx, sy, strict=True) if not log or (x > 0 and y > 0)]
    fx, x_lo, x_hi = _scale(xs, log, _PAD, _W - 16)
    fy, y_lo, y_hi = _scale(ys, log, _H - _PAD, 28)
    tick = (lambda v: f"1e{v:.1f}") if log else (lambda v: f"{v:.3g}")
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W + _LEGEND}" height="{_H}" font-family="sans-serif" '
        f'font-size="11"><rect width="100%" height="100%" fill="white"/>',
        f'<text x="{_W / 2}" y="16" text-anchor="middle" font-size="13">{escape(title)}</text>',
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - 16}" y2="{_H - _PAD}" stroke="black"/>',
        f'<line x1="{_PAD}" y1="28" x2="{_PAD}" y2="{_H - _PAD}" stroke="black"/>',
        f'<text x="{_PAD}" y="{_H - _PAD + 14}">{tick(x_lo)}</text>',
        f'<text x="{_W - 16}" y="{_H - _PAD + 14}" text-anchor="end">{tick(x_hi)}</text>',
        f'<text x="{_PAD - 4}" y="{_H - _PAD}" text-anchor="end">{tick(y_lo)}</text>',
        f'<text x="{_PAD - 4}" y="34" text-anchor="end">{tick(y_hi)}</text>',
        f'<text x="{_W / 2}" y="{_H - 10}" text-anchor="middle">{escape(x_label)}</text>',
        f'<text x="12" y="{_H / 2}" transform="rotate(-90 12 {_H / 2})" text-anchor="middle">{escape(y_label)}</text>',
    ]
    for i, (name, (sx, sy)) in enumerate(series.items()):
        colour, dash, width = _COLOURS[i % len(_COLOURS)], _DASHES[i % len(_DASHES)], _WIDTHS[i % len(_WIDTHS)]
        style = f'stroke="{colour}" stroke-width="{width}"' + (f' stroke-dasharray="{dash}"' if dash else "")
        pts = [(fx(x), fy(y)) for x, y in zip(sx, sy, strict=True) if not log or (x > 0 and y > 0)]
        if points:  # filled dots for the first series, rings for the next, so equal points show both
            fill = colour if i == 0 else "none"
            parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{2 + 1.5 * i}" fill="{fill}" stroke="{colour}"/>'
                      for x, y in pts]
        elif pts:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            parts.append(f'<polyline fill="none" {style} points="{path}"/>')
        y = 44 + 16 * i
        parts.append(f'<line x1="{_W + 4}" y1="{y - 4}" x2="{_W + 28}" y2="{y - 4}" {style}/>')
        parts.append(f'<text x="{_W + 32}" y="{y}" fill="{colour}">{escape(name[:20])}</text>')
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(groups: dict[str, dict[str, float]], title: str, value_label: str) -> str:
    """Horizontal bars, one row per label; each series (e.g. target and realized) is a bar in every row.
    Labels may be any text (Chinese discipline names included): they are escaped, never interpreted."""
    labels = list(dict.fromkeys(label for values in groups.values() for label in values))
    top = max([v for values in groups.values() for v in values.values()] + [0.0]) or 1.0
    bar_h = 12
    row_h = bar_h * max(1, len(groups)) + 8
    top_y = 52  # below the title and the legend row
    height = top_y + row_h * max(1, len(labels)) + 24
    left, right = 170, _W - 60
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{height}" font-family="sans-serif" '
        f'font-size="11"><rect width="100%" height="100%" fill="white"/>',
        f'<text x="{_W / 2}" y="16" text-anchor="middle" font-size="13">{escape(title)}</text>',
        f'<text x="{(left + right) / 2}" y="{height - 6}" text-anchor="middle">{escape(value_label)}</text>',
    ]
    for i, label in enumerate(labels):
        y0 = top_y + i * row_h
        parts.append(f'<text x="{left - 6}" y="{y0 + row_h / 2}" text-anchor="end">{escape(label[:28])}</text>')
        for j, values in enumerate(groups.values()):
            value = values.get(label, 0.0)
            width = (right - left) * value / top
            colour = _COLOURS[j % len(_COLOURS)]
            y = y0 + j * bar_h
            parts.append(f'<rect x="{left}" y="{y}" width="{width:.1f}" height="{bar_h - 2}" fill="{colour}"/>')
            parts.append(f'<text x="{left + width + 4:.1f}" y="{y + bar_h - 3}">{value:.3g}</text>')
    x = float(left)
    for j, series in enumerate(groups):  # the legend: one row under the title, never over a bar
        colour = _COLOURS[j % len(_COLOURS)]
        parts.append(f'<line x1="{x:.1f}" y1="32" x2="{x + 14:.1f}" y2="32" stroke="{colour}" stroke-width="8"/>')
        parts.append(f'<text x="{x + 18:.1f}" y="36" fill="{colour}">{escape(series[:24])}</text>')
        x += 30 + 7 * len(series[:24])
    parts.append("</svg>")
    return "".join(parts)


def markdown_image(svg: str, alt: str) -> str:
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"![{alt}](data:image/svg+xml;base64,{data})"
