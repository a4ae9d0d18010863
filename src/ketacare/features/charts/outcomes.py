"""Charts of the outcome analytics (matplotlib; SVG text for pages, PNG bytes for PDFs).

Pages embed the SVG inline after :func:`~ketacare.features.charts.render.page_svg` (no
JavaScript, no CDN). Text stays text in the SVG (``svg.fonttype = none``) so it is searchable,
accessible and testable; element ids (``gid``) name the parts: ``km-curve-<label>``,
``km-at-risk``, ``bar-response-<timepoint>``, ``bar-remission-<timepoint>``, ``band-<code>``,
Drawn and saved under :func:`~ketacare.features.charts.render.drawing` (one lock around
matplotlib's global settings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal, overload

import numpy as np

from ketacare.domain.analytics import Definitions, KaplanMeier, OutcomeSummary
from ketacare.features.charts.render import drawing, figure, to_png, to_svg
from ketacare.features.charts.style import SERIES as _COLOURS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["km_chart", "rates_chart"]

Fmt = Literal["svg", "png"]


def _render(fig: Figure, fmt: Fmt) -> str | bytes:
    return to_svg(fig, tight=True) if fmt == "svg" else to_png(fig)


def _footnote(fig: Figure, lines: Sequence[str]) -> None:
    fig.text(0.01, -0.02, "\n".join(lines), fontsize=7, va="top", ha="left", wrap=True)


@overload
def km_chart(
    curves: Mapping[str, KaplanMeier], *, title: str = ..., cumulative: bool = ...,
    risk_days: Sequence[float] | None = ..., note: Sequence[str] = ..., fmt: Literal["svg"] = ...,
) -> str: ...  # fmt: skip
@overload
def km_chart(
    curves: Mapping[str, KaplanMeier], *, title: str = ..., cumulative: bool = ...,
    risk_days: Sequence[float] | None = ..., note: Sequence[str] = ..., fmt: Literal["png"],
) -> bytes: ...  # fmt: skip
def km_chart(
    curves: Mapping[str, KaplanMeier],
    *,
    title: str = "Time to response (Kaplan–Meier)",
    cumulative: bool = True,
    risk_days: Sequence[float] | None = None,
    note: Sequence[str] = (),
    fmt: Fmt = "svg",
) -> str | bytes:
    """Kaplan–Meier step curves with 95% bands, censoring ticks and a number-at-risk table.

    Parameters
    ----------
    curves : mapping of label to KaplanMeier
        One curve per group (e.g. ``{"all": summary.time_to_response}``).
    cumulative : bool
        Plot ``1 - S(t)`` (proportion with the event: responded) instead of ``S(t)``.
    risk_days : sequence of float, optional
        Days at which to print the number at risk (default: the x ticks).
    note : sequence of str
        Definitions printed under the chart.
    """
    with drawing():
        fig = figure(figsize=(7.5, 4.8))
        ax = fig.add_axes((0.1, 0.32, 0.85, 0.6))
        end = max((float(k.time_days[-1]) for k in curves.values() if k.time_days.size), default=1)
        for i, (label, km) in enumerate(curves.items()):
            c = _COLOURS[i % len(_COLOURS)]
            t = np.append(km.time_days, end)
            s = np.append(km.survival, km.survival[-1] if km.survival.size else 1.0)
            y = 1 - s if cumulative else s
            (line,) = ax.step(t, y, where="post", color=c, lw=1.6, label=f"{label} (n={km.n})")
            line.set_gid(f"km-curve-{label}")
            lo = np.append(km.ci_low, km.ci_low[-1] if km.ci_low.size else np.nan)
            hi = np.append(km.ci_high, km.ci_high[-1] if km.ci_high.size else np.nan)
            lo, hi = (1 - hi, 1 - lo) if cumulative else (lo, hi)
            ok = ~np.isnan(lo)
            if ok.any():
                band = ax.fill_between(t, lo, hi, where=ok, step="post", color=c, alpha=0.15,
                                       lw=0)  # fmt: skip
                band.set_gid(f"km-band-{label}")
            cens = km.censored > 0
            if cens.any():
                ys = (1 - km.survival if cumulative else km.survival)[cens]
                marks = ax.plot(km.time_days[cens], ys, "|", color=c, ms=7)[0]
                marks.set_gid(f"km-censored-{label}")
        ax.set_xlim(0, end * 1.02)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("Days since origin")
        ax.set_ylabel("Proportion with the event" if cumulative else "Proportion event-free")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(loc="lower right" if cumulative else "upper right", fontsize=8)
        days = list(risk_days) if risk_days is not None else [
            float(x) for x in ax.get_xticks() if 0 <= x <= end
        ]  # fmt: skip
        risk = fig.add_axes((0.1, 0.12, 0.85, 0.1), sharex=ax)
        risk.set_axis_off()
        risk.set_gid("km-at-risk")
        risk.text(0, 1.1, "Number at risk", transform=risk.transAxes, fontsize=8, weight="bold")
        for i, (label, km) in enumerate(curves.items()):
            yrow = 0.75 - i * 0.3
            # Right-aligned well left of day 0, whose count is centred on the axis start:
            # "all" and "57" must not run together ("all57").
            risk.text(-0.05, yrow, label, transform=risk.transAxes, ha="right", fontsize=7)
            for d, n in zip(days, km.n_at_risk_at(days).tolist(), strict=True):
                risk.text(d, yrow, str(n), ha="center", fontsize=7,
                          transform=risk.get_xaxis_transform())  # fmt: skip
        _footnote(fig, note)
        return _render(fig, fmt)


@overload
def rates_chart(
    summary: OutcomeSummary, definitions: Definitions, *, title: str = ...,
    fmt: Literal["svg"] = ...,
) -> str: ...  # fmt: skip
@overload
def rates_chart(
    summary: OutcomeSummary, definitions: Definitions, *, title: str = ..., fmt: Literal["png"],
) -> bytes: ...  # fmt: skip
def rates_chart(
    summary: OutcomeSummary,
    definitions: Definitions,
    *,
    title: str = "Response and remission",
    fmt: Fmt = "svg",
) -> str | bytes:
    """Response and remission bars per timepoint with Wilson 95% intervals and k/n labels."""
    points = [summary.end_of_induction, *summary.timepoints, summary.ever]
    labels = [p.label.replace("_", " ") for p in points]
    with drawing():
        fig = figure(figsize=(7.5, 4.2))
        ax = fig.add_axes((0.1, 0.22, 0.85, 0.68))
        x = np.arange(len(points))
        for j, (name, colour) in enumerate((("response", _COLOURS[0]), ("remission", _COLOURS[2]))):
            props = [getattr(p, name) for p in points]
            rate = np.array([np.nan if q is None or q.rate is None else q.rate for q in props])
            ci = np.array([(np.nan, np.nan) if q is None or q.ci is None else q.ci for q in props])
            err = np.vstack([rate - ci[:, 0], ci[:, 1] - rate])
            bars = ax.bar(x + (j - 0.5) * 0.38, np.nan_to_num(rate), 0.38, color=colour,
                          yerr=np.nan_to_num(err), capsize=3, label=name)  # fmt: skip
            for k, patch in enumerate(bars.patches):
                patch.set_gid(f"bar-{name}-{points[k].label}")
            for xi, q in zip(x, props, strict=True):
                if q is not None and q.n:
                    ax.text(xi + (j - 0.5) * 0.38, 0.01, f"{q.k}/{q.n}", ha="center",
                            va="bottom", fontsize=7, rotation=90, color="white")  # fmt: skip
        ax.set_xticks(x, labels)
        ax.set_ylim(0, 1.05)
        ax.set_ylabel("Proportion of patients (95% Wilson CI)")
        ax.set_title(f"{title} — {definitions.instrument_name}, n = {summary.n_patients}")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        _footnote(fig, [f"Response: {definitions.response}",
                        f"Remission: {definitions.remission or 'not defined'}",
                        f"Denominator: {definitions.denominator}"])  # fmt: skip
        return _render(fig, fmt)
