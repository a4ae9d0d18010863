"""Superbills and statements from the stored lines and ledger (each download audited as an
export of the patient's data)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ketacare.features._kit import clock
from ketacare.features._kit.errors import BadRequest
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.billing import pdf, queries, service
from ketacare.features.billing.models import Payer
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.models import TreatmentSession


def provider(db: Session, clinic_id: int) -> pdf.Party:
    p = queries.profile(db, clinic_id)
    if p is None:
        return pdf.Party("(billing profile not set)", ())
    place = f"{p.city}, {p.state} {p.postal_code}".strip(", ")
    return pdf.Party(p.billing_name, (p.address, place, f"NPI {p.npi} · Tax id {p.tax_id}"))


def patient_party(db: Session, patient: Patient) -> pdf.Party:
    born = patient.birth_date.isoformat() if patient.birth_date else "not recorded"
    lines = [f"Born {born}", f"Account KC{patient.id}"]
    for cov in queries.coverages(db, patient.id)[:1]:
        payer = db.get(Payer, cov.payer_id)
        lines.append(f"{cov.address}, {cov.city}, {cov.state} {cov.postal_code}".strip(", "))
        lines.append(f"Insurance: {payer.name if payer else ''} · member {cov.member_id}")
    return pdf.Party(f"{patient.given_name} {patient.family_name}", tuple(lines))


def superbill(
    db: Session, actor: Actor, patient: Patient, start: date, end: date, diagnoses: list[str],
    now: datetime, tz: ZoneInfo, session: TreatmentSession | None = None,
) -> bytes:  # fmt: skip
    """A superbill of the confirmed lines of one session, or of ``start``..``end``."""
    if end < start:
        raise BadRequest("must not be before the start", "to")
    if (end - start).days > 366:
        raise BadRequest("a superbill covers at most one year", "to")
    lines = queries.lines_of_patient(db, patient.id, start, end)
    if session is not None:
        lines = [x for x in lines if x.session_id == session.id]
    rows = [
        pdf.Row(x.service_date, x.code + (f"-{x.modifiers}" if x.modifiers else ""),
                pdf.describe(x.code, x.service_date), x.units, x.charge_cents)
        for x in lines
    ]  # fmt: skip
    period = start.isoformat() if start == end else f"{start.isoformat()} to {end.isoformat()}"
    record(db, actor, "export", "superbill", session.id if session else "", patient.id)
    printed = clock.format_local(now, tz)
    return pdf.superbill_pdf(
        provider(db, patient.clinic_id),
        patient_party(db, patient),
        period,
        rows,
        diagnoses,
        printed,
    )


def statement(db: Session, actor: Actor, patient: Patient, now: datetime, tz: ZoneInfo) -> bytes:
    """The patient's statement (ledger and balance)."""
    entries = queries.ledger(db, patient.id)
    rows = [pdf.Row(e.on_date, e.kind, e.memo, None, service.balance([e])) for e in entries]
    record(db, actor, "export", "billing_statement", patient.id, patient.id)
    return pdf.statement_pdf(
        provider(db, patient.clinic_id), patient_party(db, patient), rows, service.balance(entries),
        clock.format_local(now, tz),
    )  # fmt: skip
