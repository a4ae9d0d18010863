"""The prior-authorisation packet (issue 20.4): one PDF with what payers ask for. Diagnosis
(ICD-10, as the billing user enters it), antidepressant trials with drug, dose, duration,
outcome and adequacy (the intake's own trial rules, ``domain.trd``), TRD status and stages,
baseline and current scores with a trend chart, REMS enrolment if known, the planned regimen."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ketacare.domain.intake.trd import trial_status
from ketacare.domain.intake.verdict import assess_intake
from ketacare.features._kit import clock
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.billing import documents, pdf, queries
from ketacare.features.intake.plans import current_plan, sessions_of
from ketacare.features.intake.service import current_intake, intake_of, rules_config
from ketacare.features.patients.models import Patient
from ketacare.settings import Settings

ADEQUACY = {True: "adequate, failed", False: "not an adequate failed trial", None: "unknown"}


@dataclass(frozen=True)
class Series:
    """One instrument's scores: baseline, current and the points of the trend chart."""

    instrument: str
    points: tuple[tuple[datetime, int], ...]


def _trend(doc: pdf._Doc, series: Series) -> None:
    """A small line chart of one instrument's totals (drawn with PDF lines, no image)."""
    pts = series.points
    if len(pts) < 2:
        return
    x0, y0, w, h = doc.l_margin, doc.get_y() + 2, 120.0, 30.0
    doc.rect(x0, y0, w, h)
    t0, t1 = pts[0][0].timestamp(), pts[-1][0].timestamp()
    top = max(v for _, v in pts) or 1
    xy = [(x0 + w * ((t.timestamp() - t0) / ((t1 - t0) or 1)), y0 + h - h * v / top)
          for t, v in pts]  # fmt: skip
    for (ax, ay), (bx, by) in itertools.pairwise(xy):
        doc.line(ax, ay, bx, by)
    doc.set_y(y0 + h + 3)


def packet_pdf(
    db: Session, actor: Actor, patient: Patient, diagnoses: Sequence[str], now: datetime,
    tz: ZoneInfo, settings: Settings,
) -> bytes:  # fmt: skip
    """The packet as PDF bytes (audited as an export of the patient's record)."""
    doc = pdf._Doc("Prior authorisation packet")
    doc.set_font("DejaVu", "", 9)
    doc.cell(0, 5, f"Printed {clock.format_local(now, tz)}", new_x="LMARGIN", new_y="NEXT")
    doc.ln(1)
    doc.party("Provider", documents.provider(db, patient.clinic_id))
    doc.party("Patient", documents.patient_party(db, patient))

    def heading(text: str) -> None:
        doc.set_font("DejaVu", "B", 10)
        doc.cell(0, 6, text, new_x="LMARGIN", new_y="NEXT")
        doc.set_font("DejaVu", "", 9)

    def line(text: str) -> None:
        doc.multi_cell(0, 4.5, text, new_x="LMARGIN", new_y="NEXT")

    heading("Diagnosis (ICD-10)")
    line(", ".join(diagnoses) if diagnoses else "not entered")
    heading("Antidepressant trials (current episode)")
    rec = current_intake(db, patient.id)
    if rec is None:
        line("No intake recorded.")
    else:
        intake = intake_of(rec)
        config = rules_config(settings)
        trials = intake.treatment.antidepressant_trials or ()
        for t in trials:
            dose = f"{t.dose_mg_per_day:g} mg/day" if t.dose_mg_per_day is not None else "dose ?"
            weeks = f"{t.weeks:g} weeks" if t.weeks is not None else "duration ?"
            outcome = (t.outcome or "outcome ?").replace("_", " ")
            line(f"{t.drug}: {dose}, {weeks}, {outcome} ({ADEQUACY[trial_status(t, config.trd)]})")
        if not trials:
            line("No antidepressant trials recorded.")
        a = assess_intake(intake, config)
        trd = {True: "yes", False: "no", None: "undetermined"}[a.trd.trd]
        heading("Treatment-resistant depression")
        need = config.trd.min_failed_trials
        line(f"TRD: {trd}; adequate failed trials of different antidepressants: "
             f"{a.trd.adequate_failures} (rule: {need} or more).")  # fmt: skip
        msm = f"{a.msm.total} ({a.msm.band})" if a.msm.total is not None else "incomplete"
        line(f"Maudsley Staging Method: {msm}; Thase-Rush stage: {a.thase_rush.label or '?'}.")
        for r in a.trd.reasons[:4]:
            line(f"- {r.text} [{r.rule_id}; {r.source}]")
    heading("Scores (baseline and current)")
    found = queries.scores(db, patient.id)
    for instrument, points in sorted(found.items()):
        first, last = points[0], points[-1]
        since = clock.format_local(first[0], tz, "%Y-%m-%d")
        latest = clock.format_local(last[0], tz, "%Y-%m-%d")
        line(f"{instrument}: baseline {first[1]} on {since}, current {last[1]} on {latest} "
             f"({len(points)} scores)")  # fmt: skip
        _trend(doc, Series(instrument, tuple(points)))
    if not found:
        line("No scores recorded.")
    heading("REMS")
    enrolled = queries.latest_rems_enrolment(db, patient.id)
    line(f"Patient enrolled in the SPRAVATO REMS: {enrolled or 'not recorded'} (latest session "
         "checklist); setting certification: see the clinic's REMS records.")  # fmt: skip
    heading("Planned regimen")
    plan = current_plan(db, patient.id)
    if plan is None:
        line("No active treatment plan.")
    else:
        planned = sessions_of(db, plan.id)
        doses = sorted({s.dose_label or f"{s.planned_dose_mg or '?'} mg" for s in planned})
        title = plan.protocol_title or plan.protocol_id
        line(f"{title} ({plan.drug}, {plan.route}) from {plan.start_date.isoformat()}: "
             f"{len(planned)} sessions; doses {', '.join(doses)}.")  # fmt: skip
    record(db, actor, "export", "prior_auth_packet", patient.id, patient.id)
    return bytes(doc.output())
