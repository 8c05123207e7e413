"""Charts drawn on the server as plain SVG: a trend line against a benchmark band, and horizontal bars (a split, a
funnel). Each is an ``<svg role="img">`` with a title and a description, scales to the page's width (a phone
included), and sits beside a table with the same figures (``web/data_tables.py``).

Hand-written rather than a charting library on purpose: the office app fetches nothing from outside and builds no
JavaScript, and the two shapes it needs are about a hundred lines of SVG; the pure-Python plotting libraries in the
package lists (matplotlib, pygal) bring large dependencies for these two shapes, and their SVG carries no table.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from html import escape

from markupsafe import Markup

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 14, 30
_ids = itertools.count(1)

Formatter = Callable[[float], str]


def _svg_open(title: str, desc: str, height: int) -> tuple[str, str]:
    ident = f"chart{next(_ids)}"
    head = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{ident}-t {ident}-d" '
        f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>'
    )
    return head, "</svg>"


def _nice_top(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 or 10 times a power of ten at or above ``value``: the top of the scale."""
    if value <= 0:
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(value))
    return next(step * magnitude for step in (1, 2, 2.5, 5, 10) if step * magnitude >= value)


def _short(label: str, most: int = 14) -> str:
    """A bar's label cut to fit beside it on a phone (the full label is in the bar's title and the table)."""
    return label if len(label) <= most else label[: most - 1] + "…"


def line_chart(
    title: str,
    desc: str,
    points: Sequence[tuple[str, float | None]],
    band: tuple[float | None, float | None] | None = None,
    fmt: Formatter = lambda v: f"{v:g}",
    ceiling: float | None = None,
) -> Markup:
    """A trend: one point per bucket (None leaves a gap), the benchmark band shaded behind it; ``ceiling`` caps the
    scale (a share never passes 100%)."""
    head, tail = _svg_open(title, desc, HEIGHT)
    values = [v for _, v in points if v is not None]
    band_values = [b for b in band or () if b is not None]
    top = _nice_top(max([*values, *band_values, 0.0]) * 1.1)
    top = min(top, ceiling) if ceiling else top
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(i: int) -> float:
        return LEFT + (plot_w * i / max(1, len(points) - 1) if len(points) > 1 else plot_w / 2)

    def y(v: float) -> float:
        return TOP + plot_h * (1 - min(v, top) / top)

    parts = [head]
    if band is not None:
        low, high = band[0] or 0.0, band[1] if band[1] is not None else top
        parts.append(
            f'<rect class="band" x="{LEFT}" y="{y(high):.1f}" width="{plot_w}" '
            f'height="{max(0.0, y(low) - y(high)):.1f}"><title>benchmark</title></rect>'
        )
    for tick in (0.0, top / 2, top):
        parts.append(
            f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
            f'<text class="axis" x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end">{escape(fmt(tick))}</text>'
        )
    for i in sorted({0, len(points) // 2, len(points) - 1}) if points else ():
        anchor = "start" if i == 0 else "end" if i == len(points) - 1 else "middle"
        parts.append(
            f'<text class="axis" x="{x(i):.1f}" y="{HEIGHT - 8}" text-anchor="{anchor}">{escape(points[i][0])}</text>'
        )
    run: list[str] = []
    for i, (label, value) in enumerate([*points, ("", None)]):
        if value is None:
            if len(run) > 1:
                parts.append(f'<polyline class="line" points="{" ".join(run)}"/>')
            run = []
            continue
        run.append(f"{x(i):.1f},{y(value):.1f}")
        parts.append(
            f'<circle class="dot" cx="{x(i):.1f}" cy="{y(value):.1f}" r="3.5">'
            f"<title>{escape(label)}: {escape(fmt(value))}</title></circle>"
        )
    if not values:
        parts.append(f'<text class="axis" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">No data yet</text>')
    parts.append(tail)
    return Markup("".join(parts))


def bar_chart(
    title: str, desc: str, bars: Sequence[tuple[str, float | None]], fmt: Formatter = lambda v: f"{v:g}"
) -> Markup:
    """Horizontal bars, one per label (a split by technician, or a funnel's steps top to bottom)."""
    row = 26
    height = TOP + BOTTOM // 2 + row * max(1, len(bars))
    head, tail = _svg_open(title, desc, height)
    label_w = 200
    plot_w = WIDTH - label_w - RIGHT - 70
    top = max([v for _, v in bars if v is not None] + [0.0]) or 1.0
    parts = [head]
    for i, (label, value) in enumerate(bars):
        y = TOP + i * row
        width = plot_w * (value or 0) / top
        shown = "—" if value is None else fmt(value)
        parts.append(
            f'<text class="axis" x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(_short(label))}</text>'
            f'<rect class="bar" x="{label_w}" y="{y + 3}" width="{width:.1f}" height="{row - 8}">'
            f"<title>{escape(label)}: {escape(shown)}</title></rect>"
            f'<text class="value" x="{label_w + width + 6:.1f}" y="{y + 16}">{escape(shown)}</text>'
        )
    if not bars:
        parts.append(f'<text class="axis" x="{WIDTH / 2}" y="{TOP + 16}" text-anchor="middle">No data yet</text>')
    parts.append(tail)
    return Markup("".join(parts))
