"""The session chart as CSP-safe inline SVG: vitals over time, and beside it the predicted
plasma concentration of the dose given (decision support, not dosing guidance).

Drawn by matplotlib under the one chart lock and rewritten for the page by
:func:`ketacare.features.charts.render.page_svg`.
"""

from __future__ import annotations

from matplotlib.figure import Figure

from ketacare.domain.pk import PKBand
from ketacare.features.charts.render import drawing, page_svg, to_svg
from ketacare.features.charts.style import BLUE, INK, MUTED, VITALS
from ketacare.features.pk import plan as planpk
from ketacare.features.sessions.models import TreatmentSession, VitalSign


def predicted(s: TreatmentSession, weight: float | None, age: float | None) -> PKBand | None:
    """The band for the dose given (or planned), with the plan's covariates."""
    mg = s.given_dose_mg or s.planned_dose_mg or 0.0
    minutes = 40.0
    if s.dose_start and s.dose_end and s.route == "iv":
        minutes = (s.dose_end - s.dose_start).total_seconds() / 60
    return planpk.session_band(
        s.route,
        float(mg),
        round(minutes, 1),
        float(weight or planpk.DEFAULT_WEIGHT_KG),
        float(age or planpk.DEFAULT_AGE_YEARS),
    )


def chart_svg(s: TreatmentSession, vitals: list[VitalSign], band: PKBand | None) -> str:
    """Vitals (left) and predicted concentration (right) against minutes since the dose."""
    with drawing():
        fig = Figure(figsize=(8.0, 3.4), dpi=100)
        left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": (3, 2)})
        origin = s.dose_start or (vitals[0].at if vitals else None)
        drawn = 0
        for attr, label in (
            ("systolic", "SBP"),
            ("diastolic", "DBP"),
            ("heart_rate", "HR"),
            ("spo2", "SpO2 %"),
        ):
            pts = [
                ((v.at - origin).total_seconds() / 60, getattr(v, attr))
                for v in vitals
                if origin is not None and getattr(v, attr) is not None
            ]
            if pts:
                xs, ys = zip(*pts, strict=True)
                left.plot(xs, ys, "o-", color=VITALS[attr], ms=3, lw=1.2, label=label)
                drawn += 1
        if drawn:
            left.legend(fontsize=7, loc="lower right", ncol=4)
        else:
            left.text(
                0.5, 0.5, "No readings yet", ha="center", va="center", transform=left.transAxes
            )
        left.axvline(0, color=MUTED, lw=0.8, ls=":")
        left.set_xlabel("Minutes since the dose")
        left.set_title("Vitals", fontsize=9)
        left.grid(alpha=0.3)
        if band is not None:
            right.fill_between(
                band.times_min,
                band.p05_ng_per_ml,
                band.p95_ng_per_ml,
                color=BLUE,
                alpha=0.25,
                linewidth=0,
                label="90% band",
            )
            right.plot(
                band.times_min, band.typical_ng_per_ml, color=INK, lw=1.2, label="Typical patient"
            )
            right.set_ylim(bottom=0)
            right.legend(fontsize=7)
            right.set_ylabel("ng/mL")
        else:
            right.text(
                0.5,
                0.5,
                "No PK model for this route",
                ha="center",
                va="center",
                transform=right.transAxes,
                fontsize=8,
            )
        right.set_xlabel("Minutes since the dose")
        right.set_title("Predicted plasma concentration", fontsize=9)
        right.grid(alpha=0.3)
        fig.text(0.01, 0.01, f"Model prediction. {planpk.DISCLAIMER}", fontsize=7)
        fig.tight_layout(rect=(0, 0.04, 1, 1))
        svg = to_svg(fig)
    return page_svg(svg, "Vitals and predicted plasma concentration")
