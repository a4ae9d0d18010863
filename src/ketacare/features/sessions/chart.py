"""The session chart as CSP-safe inline SVG: vitals over time, and beside it the predicted
plasma concentration of the dose given (decision support, not dosing guidance).

Hand-written SVG (:mod:`ketacare.features.charts.lines`): drawn on every view of the session
page, where matplotlib took about 150-250 ms of CPU under its lock.
"""

from __future__ import annotations

from ketacare.domain.pk import PKBand
from ketacare.features.charts.lines import Band, Line, Panel, figure_svg
from ketacare.features.charts.style import BLUE, INK, VITALS
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
    origin = s.dose_start or (vitals[0].at if vitals else None)
    left = Panel(50, 26, 400, 226, "Vitals", "Minutes since the dose", vlines=[0.0])
    for attr, label in (
        ("systolic", "SBP"),
        ("diastolic", "DBP"),
        ("heart_rate", "HR"),
        ("spo2", "SpO2 %"),
    ):
        pts = [
            ((v.at - origin).total_seconds() / 60, float(getattr(v, attr)))
            for v in vitals
            if origin is not None and getattr(v, attr) is not None
        ]
        if pts:
            xs, ys = zip(*pts, strict=True)
            left.lines.append(Line(label, xs, ys, VITALS[attr], dots=True))
    if not left.lines:
        left.empty = "No readings yet"
        left.xlim, left.ylim = (-5.0, 60.0), (0.0, 1.0)
    right = Panel(540, 26, 240, 226, "Predicted plasma concentration", "Minutes since the dose")
    right.ylabel = "ng/mL"
    if band is not None:
        times = [float(t) for t in band.times_min]
        right.bands.append(
            Band(
                "90% band",
                times,
                [float(v) for v in band.p05_ng_per_ml],
                [float(v) for v in band.p95_ng_per_ml],
                BLUE,
            )
        )
        right.lines.append(
            Line("Typical patient", times, [float(v) for v in band.typical_ng_per_ml], INK)
        )
        right.y_zero = True
    else:
        right.empty = "No PK model for this route"
        right.xlim, right.ylim, right.ylabel = (0.0, 1.0), (0.0, 1.0), ""
    return figure_svg(
        "Vitals and predicted plasma concentration",
        800,
        340,
        [left, right],
        f"Model prediction. {planpk.DISCLAIMER}",
    )
