"""Predicted concentration over a planned course and after one session's dose, and the plan's
chart as inline SVG (was ``intake/pk.py``; the session band was in ``sessions/chart.py``).

Decision support, not dosing guidance: the typical curve and a 90 % between-patient band
(5th-95th percentile of simulated patients) from ``ketacare.domain.pk.predict_band`` with the
patient's weight and age. Sessions start at the same clock time on their planned days
(time 0 = start of the first session).

The plan and its sessions are read through two small protocols (:class:`Plan`,
:class:`PlannedDose`, met by ``intake``'s ``TreatmentPlan`` and ``PlannedSession``), so this
feature sits below ``intake`` and ``sessions``, which draw its bands.

The chart is hand-written SVG (:mod:`ketacare.features.charts.lines`; matplotlib took about
130-250 ms of CPU on every view of the plan page).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Protocol

import numpy as np
from sqlalchemy.orm import Session

from ketacare.domain.errors import DomainError
from ketacare.domain.pk import (
    MODELS,
    Dose,
    PKBand,
    get_model,
    iv_infusion,
    nasal_spray,
    predict_band,
)
from ketacare.features._kit.errors import BadRequest
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.charts.lines import Band, Line, Marks, Panel, figure_svg
from ketacare.features.charts.style import BLUE, INK, RED

DISCLAIMER = "Decision support, not dosing guidance."
DAY_MIN = 1440.0
DEFAULT_WEIGHT_KG = 70.0
DEFAULT_AGE_YEARS = 45.0
DEVICE_INTERVAL_MIN = 5.0
N_SIMULATED = 1000
SEED = 20240501
SESSION_N_SIMULATED = 300
SESSION_WINDOW_MIN = 240.0


class Plan(Protocol):
    """What the plan band reads of a treatment plan (``intake.models.TreatmentPlan``)."""

    @property
    def id(self) -> int: ...
    @property
    def patient_id(self) -> int: ...
    @property
    def drug(self) -> str: ...
    @property
    def route(self) -> str: ...
    @property
    def weight_kg(self) -> float | None: ...
    @property
    def age_years(self) -> int | None: ...


class PlannedDose(Protocol):
    """What the plan band reads of a planned session (``intake.models.PlannedSession``)."""

    @property
    def day(self) -> date: ...
    @property
    def planned_dose_mg(self) -> float | None: ...
    @property
    def route(self) -> str: ...
    @property
    def infusion_min(self) -> float | None: ...


@dataclass(frozen=True, slots=True)
class PlanPK:
    """The band of one plan, with the covariates used and how they were chosen."""

    band: PKBand
    model_title: str
    citation: str
    weight_kg: float
    age_years: float
    notes: tuple[str, ...]
    doses: tuple[Dose, ...]


def compatible_models(drug: str, route: str) -> list[str]:
    """Model keys that describe this drug by this route (the default first)."""
    pk_route = "nasal" if route == "intranasal" else route
    racemic = drug == "ketamine"
    out = []
    for key, m in MODELS.items():
        is_racemic = m.info.analyte.startswith("racemic")
        if pk_route in m.info.routes and is_racemic == racemic:
            out.append(key)
    return out


def plan_doses(sessions: Sequence[PlannedDose]) -> tuple[Dose, ...]:
    """One dose per session with a planned amount, minutes from the first session."""
    if not sessions:
        return ()
    first = sessions[0].day
    out: list[Dose] = []
    for s in sessions:
        if s.planned_dose_mg is None or s.planned_dose_mg <= 0:
            continue
        at = (s.day - first).days * DAY_MIN
        if s.route == "intranasal":
            out.append(
                nasal_spray(s.planned_dose_mg, at_min=at, device_interval_min=DEVICE_INTERVAL_MIN)
            )
        else:
            out.append(iv_infusion(mg=s.planned_dose_mg, minutes=s.infusion_min or 40.0, at_min=at))
    return tuple(out)


def time_grid(doses: Sequence[Dose]) -> np.ndarray:
    """Minutes: every 5 min for 4 h after each dose, hourly to 24 h, 3-hourly in between."""
    pts: set[float] = set()
    for d in doses:
        pts.update(float(x) for x in d.time_min + np.arange(0.0, 240.0, 5.0))
        pts.update(float(x) for x in d.time_min + np.arange(240.0, DAY_MIN + 1, 60.0))
        if d.duration_min:
            pts.add(d.time_min + d.duration_min)
    end = max(d.time_min for d in doses) + DAY_MIN
    pts.update(float(x) for x in np.arange(0.0, end, 180.0))
    return np.array(sorted(p for p in pts if p <= end), dtype=np.float64)


# Bands by content (model, doses, covariates): a plan's band takes about 80 ms to simulate,
# then every view of the plan page reuses it (about 20 kB each).
@lru_cache(maxsize=256)
def _band(model: str, doses: tuple[Dose, ...], weight: float, age: float) -> PKBand:
    return predict_band(
        model, doses, time_grid(doses), weight_kg=weight, age_years=age, n=N_SIMULATED, seed=SEED
    )


@lru_cache(maxsize=256)
def session_band(route: str, mg: float, minutes: float, weight: float, age: float) -> PKBand | None:
    """The band after one session's dose (``route``: iv, im or esketamine) over its first
    four hours, or None when no model fits or nothing was given."""
    drug, pk_route = ("esketamine", "intranasal") if route == "esketamine" else ("ketamine", route)
    models = compatible_models(drug, pk_route)
    if not models or mg <= 0:
        return None
    if route == "esketamine":
        dose = nasal_spray(mg, at_min=0.0, device_interval_min=DEVICE_INTERVAL_MIN)
    else:
        dose = iv_infusion(mg=mg, minutes=max(minutes, 1.0), at_min=0.0)
    times = np.arange(0.0, SESSION_WINDOW_MIN + 1, 5.0)
    try:
        return predict_band(
            models[0],
            (dose,),
            times,
            weight_kg=weight,
            age_years=age,
            n=SESSION_N_SIMULATED,
            seed=SEED,
        )
    except DomainError:
        return None


def plan_pk(plan: Plan, sessions: Sequence[PlannedDose], model: str | None = None) -> PlanPK:
    """Predict the plan's course.

    Raises
    ------
    BadRequest
        ``model`` unknown or not for this drug and route, or no dose to simulate.
    """
    allowed = compatible_models(plan.drug, plan.route)
    key = model or (allowed[0] if allowed else "")
    if key not in allowed:
        choices = ", ".join(allowed) or "none"
        raise BadRequest(f"must be a model for {plan.drug} {plan.route}: {choices}", "model")
    doses = plan_doses(sessions)
    if not doses:
        raise BadRequest("the plan has no planned doses to simulate", "plan")
    notes: list[str] = []
    weight = plan.weight_kg
    if weight is None:
        weight = DEFAULT_WEIGHT_KG
        notes.append(f"Weight unknown: {DEFAULT_WEIGHT_KG:g} kg assumed.")
    age = float(plan.age_years) if plan.age_years is not None else None
    if age is None:
        age = DEFAULT_AGE_YEARS
        notes.append(f"Age unknown: {DEFAULT_AGE_YEARS:g} years assumed.")
    m = get_model(key)
    if m.iiv.borrowed:
        notes.append("The model publishes no variability; the band uses borrowed variability.")
    try:
        band = _band(key, doses, float(weight), age)
    except DomainError as exc:
        raise BadRequest(str(exc), "model") from None
    return PlanPK(band, m.info.title, m.info.citation, float(weight), age, tuple(notes), doses)


def audited_plan_pk(
    db: Session,
    actor: Actor,
    plan: Plan,
    sessions: Sequence[PlannedDose],
    model: str | None = None,
) -> PlanPK:
    """:func:`plan_pk`, audited as a read of the plan's PK (only when it was computed)."""
    result = plan_pk(plan, sessions, model)
    record(db, actor, "read", "plan_pk", plan.id, plan.patient_id)
    return result


def chart_svg(pk: PlanPK, sessions: Sequence[PlannedDose]) -> str:
    """The chart as an inline ``<svg>``: the whole course (days) and the first session (hours),
    on one concentration axis."""
    b = pk.band
    times = [float(t) for t in b.times_min]
    start = pk.doses[0].time_min
    top = max((float(v) for v in b.p95_ng_per_ml), default=1.0)
    ylim = (0.0, max(top, 1e-6) * 1.05)
    course = Panel(
        64, 26, 500, 236,
        f"Planned course: {pk.weight_kg:g} kg, {pk.age_years:g} y",
        "Days since the first session", "Plasma concentration (ng/mL)", ylim=ylim,
    )  # fmt: skip
    first = Panel(596, 26, 184, 236, "First session", "Hours, first session", ylim=ylim)
    first.y_labels, first.legend = False, False
    window = [i for i, t in enumerate(times) if t <= start + 240.0]
    for panel, xs, idx in (
        (course, [t / DAY_MIN for t in times], range(len(times))),
        (first, [(times[i] - start) / 60.0 for i in window], window),
    ):

        def at(values: np.ndarray, idx: Sequence[int] = idx) -> list[float]:
            return [float(values[i]) for i in idx]

        label = "90% band (5th–95th percentile)"
        panel.bands.append(Band(label, xs, at(b.p05_ng_per_ml), at(b.p95_ng_per_ml), BLUE))
        panel.lines.append(Line("Median", xs, at(b.p50_ng_per_ml), BLUE, 0.8, "4 2"))
        panel.lines.append(Line("Typical patient", xs, at(b.typical_ng_per_ml), INK))
    if sessions:
        ticks = [float((s.day - sessions[0].day).days) for s in sessions if s.planned_dose_mg]
        course.marks.append(Marks("Session", ticks, 0.0, RED))
    title = f"Predicted concentration over the planned course ({DISCLAIMER.lower()})"
    return figure_svg(
        title, 800, 350, [course, first], f"{pk.model_title}. Model prediction. {DISCLAIMER}"
    )
