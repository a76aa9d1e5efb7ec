"""Light charts for the dashboard's first view: server-drawn SVG, no chart library in the
browser (plotly's bundle alone costs ~1.2 s of a page load on a 2-core machine, measured in
``bench_dashboard``). Lines are thinned to at most ``MAX_POINTS`` by keeping each bucket's
first, lowest, highest and last point, so spikes and drawdown troughs survive."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html import escape
from itertools import pairwise

import numpy as np

MAX_POINTS = 800
WIDTH, LEFT, RIGHT, TOP, BOTTOM = 1000, 70, 10, 8, 22


@dataclass(frozen=True)
class Line:
    name: str
    x_ms: np.ndarray  # epoch milliseconds, increasing
    y: np.ndarray
    colour: str = "#2c7fb8"
    fill: bool = False  # shade to zero


@dataclass(frozen=True)
class Panel:
    lines: Sequence[Line]
    height: int = 240
    y_format: str = "number"  # number | money | percent (y is a fraction) | points
    rules: Sequence[tuple[float, str]] = field(default_factory=tuple)  # dashed y, label


def thin(x: np.ndarray, y: np.ndarray, limit: int = MAX_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """At most about ``limit`` points: per bucket its first, min, max and last."""
    n = len(x)
    if n <= limit:
        return x, y
    buckets = max(1, limit // 4)
    edges = np.linspace(0, n, buckets + 1).astype(int)
    keep: list[int] = []
    for a, b in pairwise(edges):
        if b <= a:
            continue
        seg = y[a:b]
        keep += [a, a + int(np.argmin(seg)), a + int(np.argmax(seg)), b - 1]
    idx = np.unique(np.asarray(keep))
    return x[idx], y[idx]


def _fmt(v: float, kind: str) -> str:
    if kind == "money":
        return f"${v:,.0f}" if abs(v) >= 100 else f"${v:,.2f}"
    if kind == "percent":
        return f"{100 * v:.0f}%" if abs(v) >= 0.1 or v == 0 else f"{100 * v:.1f}%"
    if kind == "points":
        return f"{v:.1f}%"
    return f"{v:.4g}"


def _time(ms: float) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%m-%d %H:%M")


def _panel(p: Panel, x0: float, x1: float, with_time: bool) -> str:
    ys = [ln.y[np.isfinite(ln.y)] for ln in p.lines]
    finite = np.concatenate([*ys, np.asarray([v for v, _ in p.rules], dtype=float)]) \
        if ys else np.asarray([0.0])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if any(ln.fill for ln in p.lines):
        lo, hi = min(lo, 0.0), max(hi, 0.0)
    if not hi > lo:
        lo, hi = lo - 1.0, hi + 1.0
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad
    h = p.height
    inner_w, inner_h = WIDTH - LEFT - RIGHT, h - TOP - BOTTOM
    span = (x1 - x0) or 1.0

    def px(x: np.ndarray) -> np.ndarray:
        return LEFT + (x - x0) / span * inner_w

    def py(y: np.ndarray | float) -> np.ndarray:
        return TOP + (hi - np.asarray(y, dtype=float)) / (hi - lo) * inner_h

    out = [f'<svg viewBox="0 0 {WIDTH} {h}" width="100%" role="img" '
           f'style="display:block;font:11px sans-serif">',
           f'<rect x="{LEFT}" y="{TOP}" width="{inner_w}" height="{inner_h}" fill="none" '
           f'stroke="#ddd"/>']
    for frac in (0.0, 0.5, 1.0):
        v = hi - pad - frac * (hi - lo - 2 * pad)
        at = float(py(v))
        out.append(f'<text x="{LEFT - 6}" y="{at + 4:.1f}" text-anchor="end" fill="#666">'
                   f'{escape(_fmt(v, p.y_format))}</text>')
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}" '
                   f'stroke="#eee"/>')
    for v, label in p.rules:
        at = float(py(v))
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{at:.1f}" y2="{at:.1f}" '
                   f'stroke="#888" stroke-dasharray="5,4"/><text x="{WIDTH - RIGHT - 4}" '
                   f'y="{at - 4:.1f}" text-anchor="end" fill="#666">{escape(label)}</text>')
    for ln in p.lines:
        ok = np.isfinite(ln.y)
        x, y = thin(ln.x_ms[ok].astype(float), ln.y[ok].astype(float))
        if not len(x):
            continue
        pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px(x), py(y), strict=True))
        if ln.fill:
            base = float(py(0.0))
            out.append(f'<polygon points="{px(x[:1])[0]:.1f},{base:.1f} {pts} '
                       f'{px(x[-1:])[0]:.1f},{base:.1f}" fill="{ln.colour}" '
                       f'fill-opacity="0.25" stroke="none"/>')
        out.append(f'<polyline data-name="{escape(ln.name)}" data-points="{len(x)}" '
                   f'data-last="{float(y[-1]):.6g}" points="{pts}" fill="none" '
                   f'stroke="{ln.colour}" stroke-width="1.5"/>')
    if with_time:
        for frac, anchor in ((0.0, "start"), (0.5, "middle"), (1.0, "end")):
            t = x0 + frac * span
            out.append(f'<text x="{LEFT + frac * inner_w:.1f}" y="{h - 6}" '
                       f'text-anchor="{anchor}" fill="#666">{escape(_time(t))} UTC</text>')
    out.append("</svg>")
    return "".join(out)


def svg_chart(title: str, panels: Sequence[Panel]) -> str:
    """The chart as an HTML figure (for ``st.markdown(..., unsafe_allow_html=True)``)."""
    xs = [ln.x_ms for p in panels for ln in p.lines if len(ln.x_ms)]
    x0 = float(min(int(x[0]) for x in xs)) if xs else 0.0
    x1 = float(max(int(x[-1]) for x in xs)) if xs else 1.0
    names = [ln for p in panels for ln in p.lines]
    legend = "".join(f'<span style="margin-right:12px;color:{ln.colour}">&#9632; '
                     f'{escape(ln.name)}</span>' for ln in names) if len(names) > 1 else ""
    body = "".join(_panel(p, x0, x1, i == len(panels) - 1) for i, p in enumerate(panels))
    empty = "" if xs else '<div style="color:#666">no data in the window</div>'
    return (f'<figure data-testid="svg-chart" data-title="{escape(title)}" '
            f'style="margin:0 0 1rem 0"><figcaption style="font-weight:600;margin-bottom:4px">'
            f'{escape(title)}</figcaption>{body}{empty}'
            f'<div style="font-size:12px">{legend}</div></figure>')

