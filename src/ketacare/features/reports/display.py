"""What the analytics page and the PDF reports show alike: which Kaplan–Meier curves have
anything to draw, and how a proportion prints."""

from __future__ import annotations

from ketacare.domain.analytics import KaplanMeier, Proportion

__all__ = ["drawable", "fmt_prop"]


def drawable(km: KaplanMeier) -> bool:
    """Has the curve any time after day 0 to draw?"""
    return bool(km.n and km.time_days.size and float(km.time_days[-1]) > 0)


def fmt_prop(p: Proportion | None) -> str:
    """``50.0% (40.1–59.9%) 48/96`` or ``–``."""
    if p is None or p.rate is None or p.ci is None:
        return "–"
    lo, hi = p.ci
    return f"{p.rate:.1%} ({lo:.1%}–{hi:.1%}) {p.k}/{p.n}"
