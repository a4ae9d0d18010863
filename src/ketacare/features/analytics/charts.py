"""Server-side charts of the outcome analytics (matplotlib, Agg; SVG text or PNG bytes).

The one charting module for analytics: reports and pages embed the returned SVG inline (no
JavaScript, no CDN). Text stays text in the SVG (``svg.fonttype = none``) so it is searchable,
accessible and testable; element ids (``gid``) name the parts: ``km-curve-<label>``,
``km-at-risk``, ``bar-response-<timepoint>``, ``bar-remission-<timepoint>``, ``band-<code>``,
``sessions``, ``scores``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any, Literal, overload

import matplotlib

matplotlib.use("Agg")
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator
from numpy.typing import ArrayLike

from ketacare.domain.analytics import Definitions, KaplanMeier, OutcomeSummary
from ketacare.domain.instruments import get_instrument

__all__ = ["km_chart", "rates_chart", "trajectory_chart"]

Fmt = Literal["svg", "png"]
_RC: Any = {"svg.fonttype": "none", "svg.hashsalt": "ketacare", "font.size": 9}
_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
_BAND_COLOURS = ("#e8f5e9", "#fffde7", "#fff3e0", "#ffe0b2", "#ffcdd2", "#ef9a9a")


def _render(fig: Figure, fmt: Fmt) -> str | bytes:
    buf = io.BytesIO()
    with matplotlib.rc_context(_RC):
        if fmt == "svg":
            fig.savefig(buf, format="svg", metadata={"Date": None}, bbox_inches="tight")
            return buf.getvalue().decode("utf-8")
        fig.savefig(buf, format="png", dpi=120, metadata={"Software": None}, bbox_inches="tight")
        return buf.getvalue()


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
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.5, 4.8))
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
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.5, 4.2))
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


def day_axis_limits(*days: ArrayLike) -> tuple[float, float]:
    """x limits of a days axis: whole days, day 0 included, at least a week long (scores taken
    hours apart must not stretch to a 0.00-0.05 day axis)."""
    xs = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for x in days] + [np.zeros(1)])
    lo = float(np.floor(np.nanmin(xs)))
    hi = max(float(np.ceil(np.nanmax(xs))), lo + 7.0)
    return lo - 0.5, hi + 0.5


@overload
def trajectory_chart(
    instrument_id: str, days: ArrayLike, totals: ArrayLike, session_days: ArrayLike = ..., *,
    baseline: float | None = ..., title: str = ..., fmt: Literal["svg"] = ...,
) -> str: ...  # fmt: skip
@overload
def trajectory_chart(
    instrument_id: str, days: ArrayLike, totals: ArrayLike, session_days: ArrayLike = ..., *,
    baseline: float | None = ..., title: str = ..., fmt: Literal["png"],
) -> bytes: ...  # fmt: skip
def trajectory_chart(
    instrument_id: str,
    days: ArrayLike,
    totals: ArrayLike,
    session_days: ArrayLike = (),
    *,
    baseline: float | None = None,
    title: str = "",
    fmt: Fmt = "svg",
) -> str | bytes:
    """One patient's scores over time over the instrument's severity bands, with sessions.

    Parameters
    ----------
    instrument_id : str
        Instrument whose default band set shades the background.
    days, totals : array_like
        Assessment days since the first session and totals (points).
    session_days : array_like
        Session days since the first session (markers along the bottom).
    baseline : float, optional
        Baseline total; draws the response line (50% of baseline).
    """
    inst = get_instrument(instrument_id)
    d = np.asarray(days, dtype=np.float64)
    y = np.asarray(totals, dtype=np.float64)
    sd = np.asarray(session_days, dtype=np.float64)
    top = float(inst.range[1]) if inst.range is not None else float(np.nanmax(y, initial=1))
    with matplotlib.rc_context(_RC):
        fig = Figure(figsize=(7.5, 4.0))
        ax = fig.add_axes((0.1, 0.15, 0.7, 0.75))
        bands = inst.band_sets[inst.default_band_set].bands if inst.default_band_set else ()
        for i, b in enumerate(bands):
            if b.min is None or b.max is None:
                continue
            span = ax.axhspan(b.min - 0.5 if b.min > 0 else 0, b.max + 0.5,
                              color=_BAND_COLOURS[i % len(_BAND_COLOURS)], zorder=0,
                              label=b.label)  # fmt: skip
            span.set_gid(f"band-{b.code}")
        (line,) = ax.plot(d, y, "o-", color="#263238", lw=1.5, ms=4, zorder=3)
        line.set_gid("scores")
        if sd.size:
            marks = ax.plot(sd, np.zeros_like(sd), "^", color=_COLOURS[0], ms=7, zorder=4,
                            clip_on=False, label="session")[0]  # fmt: skip
            marks.set_gid("sessions")
        if baseline is not None:
            ax.axhline(baseline * 0.5, color=_COLOURS[1], ls="--", lw=1, label="response (50%)")
        ax.set_ylim(0, top)
        ax.set_xlim(*day_axis_limits(d, sd))
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("Days since first session")
        ax.set_ylabel(f"{inst.short_name} total")
        ax.set_title(title or f"{inst.short_name} trajectory")
        ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7)
        return _render(fig, fmt)
