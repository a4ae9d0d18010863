"""The one trajectory chart: a patient's totals over time, severity bands shaded, sessions marked.

Hand-written SVG (no plotting library, no scripts, presentation attributes only, so the page's
CSP ``style-src 'self'`` holds when it is inlined). Five years of weekly scores for three
instruments render in a few milliseconds (``benchmarks/chart.py``). The patient's assessments
page and progress report show it; the report PDF embeds the same SVG as vector graphics
(:func:`ketacare.features.charts.render.pdf_svg`). It never touches matplotlib, so it needs
no lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from markupsafe import Markup, escape

from ketacare.domain.instruments import Band
from ketacare.features._kit import clock
from ketacare.features.charts.style import BLUE, FRAME, INK, MUTED, RED, band_fill

__all__ = ["Point", "trajectory_svg"]

WIDTH, HEIGHT = 760, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 120, 12, 30


@dataclass(frozen=True, slots=True)
class Point:
    """One scored assessment on the chart."""

    when: datetime
    total: int
    band: str | None


def _ticks(start: datetime, end: datetime) -> list[tuple[datetime, str]]:
    """Month or year ticks, at most about a dozen."""
    span_days = (end - start).days
    out: list[tuple[datetime, str]] = []
    if span_days > 3 * 365:
        for year in range(start.year + 1, end.year + 1):
            out.append((datetime(year, 1, 1, tzinfo=UTC), str(year)))
        return out
    step = max(1, span_days // 330 + 1)
    y, m = start.year, start.month
    while True:
        m += 1
        if m > 12:
            y, m = y + 1, 1
        t = datetime(y, m, 1, tzinfo=UTC)
        if t > end:
            return out
        if (m - 1) % step == 0:
            out.append((t, f"{t:%b %Y}" if m == 1 or not out else f"{t:%b}"))


def trajectory_svg(
    title: str,
    points: Sequence[Point],
    bands: Sequence[Band],
    value_range: tuple[int, int],
    sessions: Sequence[datetime] = (),
    tz: str = "UTC",
    baseline: float | None = None,
) -> Markup:
    """An accessible inline SVG of ``points`` over ``bands``, with session markers (their
    labels in the clinic's zone ``tz``) and, given the ``baseline`` total, the response line
    at 50% of it. Empty markup when there is nothing to draw."""
    lo, hi = value_range
    pts = sorted(points, key=lambda p: p.when)
    times = [p.when for p in pts] + list(sessions)
    if not times:
        return Markup("")
    start, end = min(times), max(times)
    if end - start < timedelta(days=14):
        start, end = start - timedelta(days=7), end + timedelta(days=7)
    pw, ph = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    t0, span = start.timestamp(), (end - start).total_seconds()

    def x(t: datetime) -> float:
        return LEFT + (t.timestamp() - t0) / span * pw

    def y(v: float) -> float:
        return TOP + ph - (v - lo) / (hi - lo) * ph

    e = escape
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="100%" '
        f'class="trajectory" role="img" font-family="system-ui, sans-serif" '
        f'aria-label="{e(title)}">',
        f"<title>{e(title)}</title>",
    ]
    for i, band in enumerate(bands):
        b_lo = lo if band.min is None else band.min
        b_hi = hi if band.max is None or i == len(bands) - 1 else band.max + 1
        top, bottom = y(min(b_hi, hi)), y(max(b_lo, lo))
        fill = band_fill(band.code, band.severe)
        parts.append(
            f'<rect x="{LEFT}" y="{top:.1f}" width="{pw}" height="{bottom - top:.1f}" '
            f'fill="{fill}"><title>{e(band.label)} ({b_lo}–{band.max})</title></rect>'
        )
        parts.append(
            f'<text x="{LEFT + pw + 6}" y="{(top + bottom) / 2 + 4:.1f}" font-size="11" '
            f'fill="{MUTED}">{e(band.label)}</text>'
        )
    for b in sorted({lo, hi, *(band.min for band in bands if band.min is not None)}):
        parts.append(
            f'<text x="{LEFT - 6}" y="{y(b) + 4:.1f}" font-size="11" text-anchor="end" '
            f'fill="{MUTED}">{b}</text>'
        )
    for t, label in _ticks(start, end):
        xt = x(t)
        parts.append(
            f'<line x1="{xt:.1f}" y1="{TOP + ph}" x2="{xt:.1f}" y2="{TOP + ph + 4}" '
            f'stroke="{MUTED}"/><text x="{xt:.1f}" y="{TOP + ph + 17}" font-size="11" '
            f'text-anchor="middle" fill="{MUTED}">{e(label)}</text>'
        )
    for s in sessions:
        xs = x(s)
        parts.append(
            f'<line class="session" x1="{xs:.1f}" y1="{TOP}" x2="{xs:.1f}" y2="{TOP + ph}" '
            f'stroke="{BLUE}" stroke-width="1" stroke-dasharray="3 3" opacity="0.7">'
            f"<title>Treatment session {clock.format_local(s, tz)}</title></line>"
        )
    parts.append(
        f'<rect x="{LEFT}" y="{TOP}" width="{pw}" height="{ph}" fill="none" stroke="{FRAME}"/>'
    )
    if baseline is not None and lo <= baseline * 0.5 <= hi:
        yr = y(baseline * 0.5)
        parts.append(
            f'<line class="response" x1="{LEFT}" y1="{yr:.1f}" x2="{LEFT + pw}" y2="{yr:.1f}" '
            f'stroke="{RED}" stroke-width="1" stroke-dasharray="6 3">'
            f"<title>Response: 50% of baseline ({baseline * 0.5:g})</title></line>"
        )
    if pts:
        coords = " ".join(f"{x(p.when):.1f},{y(p.total):.1f}" for p in pts)
        parts.append(f'<polyline points="{coords}" fill="none" stroke="{INK}" stroke-width="1.5"/>')
        for p in pts:
            parts.append(
                f'<circle class="score" cx="{x(p.when):.1f}" cy="{y(p.total):.1f}" r="3" '
                f'fill="{INK}"><title>{clock.format_local(p.when, tz, clock.DATE_FORMAT)}: '
                f"{p.total}"
                f"{f' ({e(p.band)})' if p.band else ''}</title></circle>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
