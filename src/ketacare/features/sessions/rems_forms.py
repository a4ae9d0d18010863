"""The REMS Patient Monitoring Form of an esketamine session: values (derived from the chart
plus typed fields), completeness, the forms-due list and the CSV/PDF exports."""

from __future__ import annotations

import csv
import io
import textwrap
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.sessions import rems
from ketacare.domain.sessions.safety import Reason
from ketacare.features._kit import clock
from ketacare.features._kit.errors import BadRequest
from ketacare.features.charts import render
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.closing import rems_form
from ketacare.features.sessions.models import RemsForm, SessionStatus, TreatmentSession
from ketacare.features.sessions.service import require_open
from ketacare.features.sessions.state import SessionState


def ensure_form(
    db: Session,
    s: TreatmentSession,
    address: str = "",
    days: int = rems.DEADLINE_DAYS,
    default_tz: str = "UTC",
) -> RemsForm | None:
    """The form row of an esketamine session (created on first use; deadline once dosed,
    counted from the treatment's local date in the clinic's zone, else ``default_tz``)."""
    if s.route != "esketamine":
        return None
    form = rems_form(db, s)
    if form is None:
        prefill = {"setting_address": address} if address else {}
        form = RemsForm(
            clinic_id=s.clinic_id, session_id=s.id, form_version=rems.PMF_VERSION, fields=prefill
        )
        db.add(form)
    if s.dose_start is not None:
        tz = clock.clinic_tz(db.get(Clinic, s.clinic_id), default_tz)
        form.deadline = rems.deadline(
            clock.local_date(s.dose_start, tz) or s.dose_start.date(), days
        )
    db.flush()
    return form


def save_fields(
    db: Session, s: TreatmentSession, fields: dict[str, str], now: datetime
) -> RemsForm:
    """Store typed PMF fields (unknown or invalid ones: BadRequest naming ``fields.<id>``)."""
    require_open(s)
    form = rems_form(db, s)
    if form is None:
        raise BadRequest("only esketamine sessions have a REMS form", "route")
    specs = {f.id: f for f in rems.PMF_FIELDS if not f.derived}
    merged = dict(form.fields or {})
    for key, value in fields.items():
        if key not in specs:
            raise BadRequest("is not a typed field of the form", f"fields.{key}")
        problem = rems.field_problem(specs[key], value)
        if problem:
            raise BadRequest(problem, f"fields.{key}")
        merged[key] = value.strip()
    form.fields, form.updated_at = merged, now
    db.flush()
    return form


def _bp(v: Any) -> str:
    return f"{v.systolic}/{v.diastolic}" if v is not None else ""


def values(
    db: Session,
    st: SessionState,
    form: RemsForm | None,
    default_tz: str = "UTC",
    window_min: int = 10,
) -> dict[str, Any]:
    """Every PMF field: derived from the chart, typed ones from the form. The treatment date
    is the clinic's local date (its zone, else ``default_tz``: KETACARE_TIMEZONE).

    The "BP about 40 min" is the reading closest to 40 min within ``window_min`` (the same
    window as the session page's reminder, ``session_esk_recheck_window_min`` [U]).
    """
    s, p = st.session, st.patient
    clinic = db.execute(select(Clinic).where(Clinic.id == s.clinic_id)).scalar_one()
    tz = clock.clinic_tz(clinic, default_tz)
    bp = [v for v, _ in st.vitals if v.systolic is not None and v.diastolic is not None]
    pre = next((v for v in bp if v.pre_dose), None)
    post = [v for v in bp if not v.pre_dose]
    at40 = None
    if s.dose_start is not None:
        target = s.dose_start + timedelta(minutes=40)
        near = [v for v in post if abs(v.at - target) <= timedelta(minutes=window_min)]
        at40 = min(near, key=lambda v: abs(v.at - target)) if near else None
    end = [v for v in post if s.discharged_at is None or v.at <= s.discharged_at]
    moaas_pre = next(
        (x.total for x in st.scales if x.instrument_id == "moaas" and x.timepoint == "pre_dose"), 5
    )
    cadss_pre = next(
        (
            x.total
            for x in st.scales
            if x.instrument_id.startswith("cadss") and x.timepoint == "pre_dose"
        ),
        0,
    )
    post_scales = [x for x in st.scales if x.timepoint != "pre_dose"]
    sedation = [x for x in post_scales if x.instrument_id == "moaas" and x.total < moaas_pre]
    dissociation = [
        x for x in post_scales if x.instrument_id.startswith("cadss") and x.total > cadss_pre
    ]
    dose = ""
    if s.given_dose_mg is not None:
        dose = (
            f"{s.given_dose_mg:g} mg"
            if s.given_dose_mg in (56, 84)
            else f"other: {s.given_dose_mg:g} mg"
        )
    duration = None
    if s.dose_start is not None and s.discharged_at is not None:
        duration = int((s.discharged_at - s.dose_start).total_seconds() // 60)
    serious = [e for e in st.events if e.serious]
    derived: dict[str, Any] = {
        "patient_first_name": p.given_name,
        "patient_last_name": p.family_name,
        "patient_birth_date": p.birth_date.isoformat() if p.birth_date else "",
        "patient_sex": p.sex.value,
        "monitor_email": s.nurse_email,
        "setting_name": clinic.name,
        "treatment_date": clock.format_local(s.dose_start, tz, clock.DATE_FORMAT),
        "dose": dose,
        "lot_number": s.lot,
        "duration_min": duration,
        "bp_pre": _bp(pre),
        "bp_40min": _bp(at40),
        "bp_end": _bp(end[-1] if end else None),
        "sedation": ("yes" if sedation else "no") if post_scales else "",
        "dissociation": ("yes" if dissociation else "no") if post_scales else "",
        "adverse_events": "yes" if serious else "no",
        "adverse_event_details": "; ".join(
            f"{e.other_text or e.term} ({e.severity}, {e.outcome})" for e in serious
        ),
    }
    typed = dict(form.fields or {}) if form else {}
    return {
        f.id: (derived.get(f.id) if f.derived else typed.get(f.id, "")) for f in rems.PMF_FIELDS
    }


def missing(vals: dict[str, Any]) -> list[Reason]:
    """Unmet PMF requirements."""
    return rems.missing(vals)


@dataclass(frozen=True, slots=True)
class DueForm:
    """A form still to submit."""

    session_id: int
    patient_id: int
    patient_name: str
    treatment_date: date | None
    deadline: date
    status: str
    signed: bool


def forms_due(db: Session, clinic_id: int, today: date, tz: str = "UTC") -> list[DueForm]:
    """Unsubmitted forms of dosed esketamine sessions, earliest deadline first (``today`` and
    treatment dates in the clinic's zone ``tz``)."""
    rows = db.execute(
        select(RemsForm, TreatmentSession, Patient)
        .join(TreatmentSession, TreatmentSession.id == RemsForm.session_id)
        .join(Patient, Patient.id == TreatmentSession.patient_id)
        .where(
            RemsForm.clinic_id == clinic_id,
            RemsForm.submitted_at.is_(None),
            RemsForm.deadline.is_not(None),
        )
        .order_by(RemsForm.deadline, RemsForm.id)
    ).all()
    out = []
    for form, s, p in rows:
        assert form.deadline is not None
        out.append(
            DueForm(
                s.id,
                p.id,
                p.display_name,
                clock.local_date(s.dose_start, tz),
                form.deadline,
                rems.status(form.deadline, None, today),
                s.status == SessionStatus.signed,
            )
        )
    return out


def mark_submitted(db: Session, s: TreatmentSession, user_id: int, now: datetime) -> RemsForm:
    """Record that the signed session's form was submitted to the REMS."""
    form = rems_form(db, s)
    if form is None:
        raise BadRequest("only esketamine sessions have a REMS form", "route")
    if s.status != SessionStatus.signed:
        raise BadRequest("sign the session before submitting its form", "status")
    if form.submitted_at is None:
        form.submitted_at, form.submitted_by_id = now, user_id
        db.flush()
    return form


def require_exportable(s: TreatmentSession) -> None:
    """Only a signed esketamine session exports its form."""
    if s.route != "esketamine":
        raise BadRequest("only esketamine sessions have a REMS form", "route")
    if s.status != SessionStatus.signed:
        raise BadRequest("sign the session before exporting its form", "status")


def printed_label(label: str) -> str:
    """A field's label as printed for the REMS: without ketacare's "[U wording]" marker (a
    note for staff that the wording is not verified, not part of the form)."""
    return label.replace(" [U wording]", "").replace("[U wording]", "").strip()


def to_csv(vals: dict[str, Any]) -> str:
    """One row per field: field id, label, value."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["field", "label", "value"])
    for f in rems.PMF_FIELDS:
        v = vals.get(f.id)
        w.writerow([f.id, printed_label(f.label), "" if v is None else v])
    return buf.getvalue()


def to_pdf(vals: dict[str, Any], session_id: int) -> bytes:
    """The form as a one-page A4 PDF (matplotlib's PDF backend, no system libraries)."""
    with render.drawing():
        fig = render.figure(figsize=(8.27, 11.69))
        fig.text(
            0.06,
            0.965,
            "SPRAVATO REMS Patient Monitoring Form: session record",
            fontsize=13,
            weight="bold",
        )
        fig.text(
            0.06,
            0.948,
            f"ketacare session {session_id} · form fields version {rems.PMF_VERSION}"
            " · submit within 7 days at spravatorems.com or by fax",
            fontsize=7.5,
        )
        y = 0.925
        for f in rems.PMF_FIELDS:
            v = vals.get(f.id)
            label = "\n".join(textwrap.wrap(printed_label(f.label), 78))  # never cut a question
            text = "\n".join(textwrap.wrap("" if v is None else str(v), 48)) or "—"
            fig.text(0.06, y, label, fontsize=7.5, verticalalignment="top")
            fig.text(0.62, y, text, fontsize=8, weight="bold", verticalalignment="top")
            lines = max(text.count("\n"), label.count("\n")) + 1
            y -= 0.012 + 0.0115 * lines
        return render.to_pdf(fig, {"Creator": "ketacare", "Producer": "ketacare"})
