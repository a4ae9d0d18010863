"""A small inline trend line for the patient chart: hand-written SVG, no scripts, no library.

The values are also given in words (``aria-label`` and ``<title>``): the line is never the only
way to read them.
"""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

from ketacare.features.charts.style import BLUE, FRAME, INK

__all__ = ["sparkline_svg"]

WIDTH, HEIGHT, PAD = 120, 30, 3


def sparkline_svg(values: Sequence[float], value_range: tuple[float, float], label: str) -> Markup:
    """An inline SVG trend of ``values`` (oldest first) on ``value_range``; the last point is
    marked. Empty markup for fewer than two values.

    >>> str(sparkline_svg([10, 5], (0, 27), "PHQ-9")).count("<circle")
    1
    >>> str(sparkline_svg([3], (0, 27), "PHQ-9"))
    ''
    """
    if len(values) < 2:
        return Markup("")
    lo, hi = value_range
    span = (hi - lo) or 1
    n = len(values)

    def x(i: int) -> float:
        return PAD + i * (WIDTH - 2 * PAD) / (n - 1)

    def y(v: float) -> float:
        return PAD + (HEIGHT - 2 * PAD) * (1 - (min(max(v, lo), hi) - lo) / span)

    points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
    words = f"{label}: {', '.join(f'{v:g}' for v in values)} (oldest first)"
    e = escape(words)
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}"'
        f' height="{HEIGHT}" class="sparkline" role="img" aria-label="{e}"><title>{e}</title>'
        f'<line x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" y2="{HEIGHT - PAD}" '
        f'stroke="{FRAME}"/><polyline points="{points}" fill="none" stroke="{BLUE}" '
        f'stroke-width="1.5"/><circle cx="{x(n - 1):.1f}" cy="{y(values[-1]):.1f}" r="2.5" '
        f'fill="{INK}"/></svg>'
    )
