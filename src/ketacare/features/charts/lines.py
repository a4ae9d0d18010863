"""Small line charts as hand-written SVG: panels of lines, shaded bands and markers.

For the charts a staff page draws on every view (the session's vitals beside the predicted
concentration, a plan's predicted course): matplotlib took 100–250 ms of CPU per chart under
one process-wide lock, this takes about a millisecond and needs no lock. Like
:mod:`ketacare.features.charts.trajectory` the SVG uses presentation attributes only (no
``style``, no scripts), so the page CSP ``style-src 'self'`` holds when it is inlined, and
its text stays text (searchable, accessible, testable). The same inputs give the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from markupsafe import escape

from ketacare.features.charts.style import FRAME, INK, MUTED

__all__ = ["Band", "Line", "Marks", "Panel", "figure_svg", "nice_ticks"]

FONT = 10
#: Rough width of one character at ``FONT`` px (system-ui), to lay out legends.
CHAR_W = 5.6


@dataclass(frozen=True, slots=True)
class Line:
    """A series drawn as a polyline (``dash``: an SVG dash array; ``dots``: a circle per
    point)."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    colour: str = INK
    width: float = 1.2
    dash: str = ""
    dots: bool = False


@dataclass(frozen=True, slots=True)
class Band:
    """A shaded area between ``lo`` and ``hi``."""

    label: str
    xs: Sequence[float]
    lo: Sequence[float]
    hi: Sequence[float]
    colour: str
    opacity: float = 0.25


@dataclass(frozen=True, slots=True)
class Marks:
    """Upward triangles at ``xs`` on the height ``y``."""

    label: str
    xs: Sequence[float]
    y: float
    colour: str


@dataclass(slots=True)
class Panel:
    """One plot: its box in the figure (``x``, ``y``, ``w``, ``h`` in px), what it shows,
    and the text to show in its middle when there is nothing to draw."""

    x: float
    y: float
    w: float
    h: float
    title: str
    xlabel: str
    ylabel: str = ""
    lines: list[Line] = field(default_factory=list)
    bands: list[Band] = field(default_factory=list)
    marks: list[Marks] = field(default_factory=list)
    vlines: list[float] = field(default_factory=list)
    empty: str = ""
    #: Fixed limits; otherwise from the data (the y axis from 0 with ``y_zero``).
    xlim: tuple[float, float] | None = None
    ylim: tuple[float, float] | None = None
    y_zero: bool = False
    #: Draw the y tick labels (off for a panel sharing its neighbour's axis).
    y_labels: bool = True
    #: The legend below the x label (entries in a row; ``legend_x`` shifts it).
    legend: bool = True
    legend_x: float = 0.0


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering ``lo``..``hi`` (steps of 1, 2, 2.5 or 5 ×10^k)."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / max(1, n)
    mag = 10 ** math.floor(math.log10(raw))
    step = next((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), 10 * mag)
    first = math.ceil(lo / step - 1e-9)
    out: list[float] = []
    k = first
    while k * step <= hi + step * 1e-9:
        out.append(round(k * step, 10))
        k += 1
    return out


def _limits(values: Sequence[float], zero: bool) -> tuple[float, float]:
    finite = [v for v in values if math.isfinite(v)]
    if not finite:
        return (0.0, 1.0)
    lo, hi = min(finite), max(finite)
    if zero:
        lo = min(0.0, lo)
    if hi - lo < 1e-9:
        lo, hi = lo - 1.0, hi + 1.0
    ticks = nice_ticks(lo, hi)
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    lo = min(lo, math.floor(lo / step) * step)
    hi = max(hi, math.ceil(hi / step) * step)
    return (0.0 if zero and lo >= 0 else lo, hi)


def _fmt(v: float) -> str:
    return f"{v:g}"


def _panel(p: Panel) -> list[str]:
    e = escape
    xs = [*p.vlines]
    ys: list[float] = []
    for line in p.lines:
        xs += list(line.xs)
        ys += list(line.ys)
    for band in p.bands:
        xs += list(band.xs)
        ys += list(band.lo) + list(band.hi)
    for mark in p.marks:
        xs += list(mark.xs)
        ys.append(mark.y)
    x0, x1 = p.xlim or (_limits(xs, False) if xs else (0.0, 1.0))
    y0, y1 = p.ylim or _limits(ys, p.y_zero)
    if x1 <= x0:
        x0, x1 = x0 - 1.0, x0 + 1.0

    def px(v: float) -> float:
        return p.x + (v - x0) / (x1 - x0) * p.w

    def py(v: float) -> float:
        return p.y + p.h - (v - y0) / (y1 - y0) * p.h

    bottom = p.y + p.h
    out = [f'<g class="panel" aria-label="{e(p.title)}">']
    out.append(
        f'<text x="{p.x + p.w / 2:.1f}" y="{p.y - 7:.1f}" font-size="{FONT + 1}" '
        f'text-anchor="middle" fill="{INK}">{e(p.title)}</text>'
    )
    for t in [] if p.empty else nice_ticks(x0, x1):
        xt = px(t)
        out.append(
            f'<line x1="{xt:.1f}" y1="{p.y}" x2="{xt:.1f}" y2="{bottom + 4:.1f}" '
            f'stroke="{FRAME}" stroke-width="0.8"/>'
            f'<text x="{xt:.1f}" y="{bottom + 15:.1f}" font-size="{FONT}" '
            f'text-anchor="middle" fill="{MUTED}">{_fmt(t)}</text>'
        )
    for t in [] if p.empty else nice_ticks(y0, y1):
        yt = py(t)
        out.append(
            f'<line x1="{p.x - (4 if p.y_labels else 0)}" y1="{yt:.1f}" x2="{p.x + p.w}" '
            f'y2="{yt:.1f}" stroke="{FRAME}" stroke-width="0.8"/>'
        )
        if p.y_labels:
            out.append(
                f'<text x="{p.x - 6}" y="{yt + 3.5:.1f}" font-size="{FONT}" '
                f'text-anchor="end" fill="{MUTED}">{_fmt(t)}</text>'
            )
    out.append(
        f'<text x="{p.x + p.w / 2:.1f}" y="{bottom + 30:.1f}" font-size="{FONT}" '
        f'text-anchor="middle" fill="{MUTED}">{e(p.xlabel)}</text>'
    )
    if p.ylabel:
        cx, cy = p.x - 38, p.y + p.h / 2
        out.append(
            f'<text x="{cx:.1f}" y="{cy:.1f}" font-size="{FONT}" text-anchor="middle" '
            f'fill="{MUTED}" transform="rotate(-90 {cx:.1f} {cy:.1f})">{e(p.ylabel)}</text>'
        )
    for band in p.bands:
        upper = [f"{px(x):.1f},{py(v):.1f}" for x, v in zip(band.xs, band.hi, strict=True)]
        lower = [f"{px(x):.1f},{py(v):.1f}" for x, v in zip(band.xs, band.lo, strict=True)]
        if upper:
            out.append(
                f'<polygon points="{" ".join(upper + lower[::-1])}" fill="{band.colour}" '
                f'fill-opacity="{band.opacity:g}" stroke="none"><title>{e(band.label)}</title>'
                "</polygon>"
            )
    for v in p.vlines:
        out.append(
            f'<line x1="{px(v):.1f}" y1="{p.y}" x2="{px(v):.1f}" y2="{bottom:.1f}" '
            f'stroke="{MUTED}" stroke-width="0.8" stroke-dasharray="1 2"/>'
        )
    for line in p.lines:
        pts = [f"{px(x):.1f},{py(v):.1f}" for x, v in zip(line.xs, line.ys, strict=True)]
        if not pts:
            continue
        dash = f' stroke-dasharray="{line.dash}"' if line.dash else ""
        out.append(
            f'<polyline points="{" ".join(pts)}" fill="none" stroke="{line.colour}" '
            f'stroke-width="{line.width:g}"{dash}><title>{e(line.label)}</title></polyline>'
        )
        if line.dots:
            for x, v in zip(line.xs, line.ys, strict=True):
                out.append(
                    f'<circle cx="{px(x):.1f}" cy="{py(v):.1f}" r="2.5" fill="{line.colour}">'
                    f"<title>{e(line.label)}: {_fmt(v)} at {_fmt(x)}</title></circle>"
                )
    for mark in p.marks:
        ym = py(mark.y)
        for x in mark.xs:
            xm = px(x)
            out.append(
                f'<polygon points="{xm:.1f},{ym - 6:.1f} {xm - 4:.1f},{ym:.1f} {xm + 4:.1f},'
                f'{ym:.1f}" fill="{mark.colour}"><title>{e(mark.label)}</title></polygon>'
            )
    if p.empty:
        out.append(
            f'<text x="{p.x + p.w / 2:.1f}" y="{p.y + p.h / 2:.1f}" font-size="{FONT + 1}" '
            f'text-anchor="middle" fill="{MUTED}">{e(p.empty)}</text>'
        )
    out.append(
        f'<rect x="{p.x}" y="{p.y}" width="{p.w}" height="{p.h}" fill="none" '
        f'stroke="{MUTED}" stroke-width="0.8"/>'
    )
    if p.legend:
        out += _legend(p)
    out.append("</g>")
    return out


def _legend(p: Panel) -> list[str]:
    """The keys in a row below the x label: a patch, a line or a triangle, then the label."""
    y = p.y + p.h + 46
    x = p.x + p.legend_x
    out: list[str] = []
    entries: list[tuple[str, str, str, str]] = []  # (kind, colour, dash or opacity, label)
    entries += [("band", b.colour, f"{b.opacity:g}", b.label) for b in p.bands]
    entries += [("line", line.colour, line.dash, line.label) for line in p.lines]
    entries += [("mark", m.colour, "", m.label) for m in p.marks]
    for kind, colour, extra, label in entries:
        if kind == "band":
            out.append(
                f'<rect x="{x:.1f}" y="{y - 8:.1f}" width="16" height="8" fill="{colour}" '
                f'fill-opacity="{extra}"/>'
            )
        elif kind == "line":
            dash = f' stroke-dasharray="{extra}"' if extra else ""
            out.append(
                f'<line x1="{x:.1f}" y1="{y - 4:.1f}" x2="{x + 16:.1f}" y2="{y - 4:.1f}" '
                f'stroke="{colour}" stroke-width="1.5"{dash}/>'
            )
        else:
            out.append(
                f'<polygon points="{x + 8:.1f},{y - 9:.1f} {x + 4:.1f},{y - 1:.1f} '
                f'{x + 12:.1f},{y - 1:.1f}" fill="{colour}"/>'
            )
        out.append(
            f'<text x="{x + 20:.1f}" y="{y:.1f}" font-size="{FONT}" fill="{INK}">'
            f"{escape(label)}</text>"
        )
        x += 20 + len(label) * CHAR_W + 14
    return out


def figure_svg(
    title: str, width: int, height: int, panels: Sequence[Panel], footnote: str = ""
) -> str:
    """The panels as one accessible inline ``<svg>`` named ``title`` (``role="img"``)."""
    e = escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'font-family="system-ui, sans-serif" stroke-linejoin="round" role="img" '
        f'aria-label="{e(title)}">',
        f"<title>{e(title)}</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for p in panels:
        parts += _panel(p)
    if footnote:
        parts.append(
            f'<text x="8" y="{height - 8}" font-size="{FONT - 1}" fill="{MUTED}">'
            f"{e(footnote)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
