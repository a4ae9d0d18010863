"""The panels of the patient chart (issue 21.1), built for the ``chart_panels`` hook.

Each panel names where its facts come from (``docs/patient-chart.md``). The page runs a fixed
number of statements whatever the length of the record: every read here is one statement
(``chart.queries``), and what grows with the record (scores, sessions) is counted or
aggregated in the database or walked in memory, never fetched row by row.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from markupsafe import Markup
from sqlalchemy.orm import Session

from ketacare.domain.instruments import get_instrument
from ketacare.domain.intake.verdict import assess_intake
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.chart import queries
from ketacare.features.charts.sparkline import sparkline_svg
from ketacare.features.consent.service import states as consent_states
from ketacare.features.intake.service import current_intake, intake_of, rules_config
from ketacare.features.patients.models import Patient
from ketacare.features.registry import CHART_NOTES_ORDER, ChartPanel
from ketacare.features.rems.queries import enrolment_of
from ketacare.settings import Settings

#: Points of the inline trend (the newest ones).
TREND_POINTS = 12

ELIGIBILITY_TEXT = {
    "eligible": "eligible",
    "not_eligible": "not eligible",
    "needs_review": "needs review",
    "incomplete": "incomplete",
}


@dataclass(frozen=True, slots=True)
class InstrumentSummary:
    """The latest score of one instrument, its band, its change from baseline, its trend."""

    instrument_id: str
    name: str
    total: int
    max_total: int | None
    band_label: str
    severe: bool
    when: datetime
    baseline: int | None
    baseline_when: datetime | None
    change: int | None
    change_pct: float | None
    count: int
    trend: Markup


def _band(instrument_id: str, band_set: str | None, code: str | None) -> tuple[str, bool]:
    inst = get_instrument(instrument_id)
    chosen = band_set or inst.default_band_set
    bands = inst.band_sets[chosen].bands if chosen and chosen in inst.band_sets else inst.bands
    for band in bands:
        if band.code == code:
            return band.label, band.severe
    return (code or "").replace("_", " "), False


def summarise_scores(
    rows: list[queries.ScoreRow], first_dose: datetime | None, baseline_rule: str
) -> list[InstrumentSummary]:
    """Per instrument (in instrument-library order): the latest score, its baseline (the last
    score at or before the first dose, else the earliest; or the earliest, by the clinic's
    ``KETACARE_OUTCOME_BASELINE``) and the change from it, and the trend of the newest."""
    by_inst: dict[str, list[queries.ScoreRow]] = {}
    for row in rows:
        by_inst.setdefault(row.instrument_id, []).append(row)
    out = []
    for iid, series in by_inst.items():
        try:
            inst = get_instrument(iid)
        except (KeyError, ValueError):
            continue
        latest = series[-1]
        base = series[0]
        if baseline_rule == "before_first_dose" and first_dose is not None:
            before = [r for r in series if r.completed_at <= first_dose]
            if before:
                base = before[-1]
        has_base = len(series) > 1 and base is not latest
        change = latest.total - base.total if has_base else None
        pct = round(100 * change / base.total) if change is not None and base.total else None
        label, severe = _band(iid, latest.band_set, latest.band)
        value_range = inst.range
        trend = (
            sparkline_svg(
                [r.total for r in series[-TREND_POINTS:]],
                value_range,
                f"{inst.short_name} trend, last {min(len(series), TREND_POINTS)} scores",
            )
            if value_range is not None
            else Markup("")
        )
        out.append(
            InstrumentSummary(
                iid,
                inst.short_name,
                latest.total,
                value_range[1] if value_range is not None else None,
                label,
                severe,
                latest.completed_at,
                base.total if has_base else None,
                base.completed_at if has_base else None,
                change,
                pct,
                len(series),
                trend,
            )
        )
    return out


def _intake(db: Session, patient: Patient, settings: Settings) -> tuple[dict[str, Any], str]:
    rec = current_intake(db, patient.id)
    if rec is None:
        return {"intake": None}, ""
    verdict = assess_intake(intake_of(rec), rules_config(settings))
    weight = ""
    if rec.weight_kg is not None:
        weight = f"{rec.weight_kg:g} kg (intake v{rec.version}"
        weight += f", {rec.assessed_on.isoformat()})" if rec.assessed_on else ")"
    ctx = {
        "intake": rec,
        "iv": ELIGIBILITY_TEXT.get(verdict.iv_ketamine.status, verdict.iv_ketamine.status),
        "esk": ELIGIBILITY_TEXT.get(verdict.esketamine.status, verdict.esketamine.status),
        "trd": verdict.trd.trd,
        "adequate_failures": verdict.trd.adequate_failures,
        "thase_rush": verdict.thase_rush.label,
        "thase_rush_uncertain": verdict.thase_rush.uncertain,
        "msm_total": verdict.msm.total,
        "msm_band": verdict.msm.band,
        "dsm5": verdict.dsm5.conclusion.replace("_", " "),
        "pathway": str(verdict.pathway.primary).replace("_", " "),
    }
    return ctx, weight


def panels(
    db: Session, actor: Actor, patient: Patient, now: datetime, settings: Settings
) -> list[ChartPanel]:
    """The chart's clinical panels, audited as one read of the patient's chart."""
    alerts = queries.open_alerts(db, patient.clinic_id, patient.id)
    course = queries.course(db, patient.id)
    booking = queries.next_booking(db, patient.clinic_id, patient.id, now)
    rows, first_dose = queries.scores(db, patient.id)
    summaries = summarise_scores(rows, first_dose, settings.outcome_baseline)
    intake_ctx, weight = _intake(db, patient, settings)
    last = queries.last_session(db, patient.id)
    consent = consent_states(db, patient)
    rems = enrolment_of(db, patient.id)
    record(db, actor, "read", "chart", patient.id, patient.id)
    facts: tuple[tuple[str, str], ...] = (("Weight", weight or "not recorded"),)
    pid = patient.id
    return [
        ChartPanel("alerts", "Open alerts", "chart/alerts.html", {"alerts": alerts}, order=10),
        ChartPanel(
            "course",
            "Treatment course",
            "chart/course.html",
            {"course": course, "booking": booking, "pid": pid},
            order=20,
        ),
        ChartPanel(
            "scores", "Latest scores", "chart/scores.html", {"summaries": summaries}, order=30
        ),
        ChartPanel(
            "last-session", "Last session", "chart/last_session.html", {"last": last}, order=40
        ),
        ChartPanel(
            "intake", "Intake verdict", "chart/intake.html", intake_ctx, order=50, facts=facts
        ),
        # CHART_NOTES_ORDER (60) is kept for the clinical notes panel (features/notes).
        ChartPanel(
            "compliance",
            "Consent and REMS",
            "chart/compliance.html",
            {"consent": consent, "rems": rems},
            order=CHART_NOTES_ORDER + 10,
        ),
    ]
