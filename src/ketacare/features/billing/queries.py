"""Billing queries (plain functions; another clinic's record is NotFound)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.features._kit.errors import NotFound
from ketacare.features.assessments.models import Assessment
from ketacare.features.billing.models import (
    BillingLine,
    BillingProfile,
    Claim,
    Coverage,
    LedgerEntry,
    Payer,
    PriorAuth,
    PriorAuthEvent,
)
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling.models import Booking
from ketacare.features.sessions.models import SessionStatus, TreatmentSession


def profile(db: Session, clinic_id: int) -> BillingProfile | None:
    """The clinic's billing profile (None until configured)."""
    return db.execute(
        select(BillingProfile).where(BillingProfile.clinic_id == clinic_id)
    ).scalar_one_or_none()


def payers(db: Session, clinic_id: int) -> list[Payer]:
    """The clinic's payers by name."""
    return list(db.scalars(select(Payer).where(Payer.clinic_id == clinic_id).order_by(Payer.name)))


def payer(db: Session, clinic_id: int, payer_id: int) -> Payer:
    """One payer of the clinic."""
    row = db.get(Payer, payer_id)
    if row is None or row.clinic_id != clinic_id:
        raise NotFound("no such payer", "payer_id")
    return row


def coverages(db: Session, patient_id: int) -> list[Coverage]:
    """The patient's coverages, primary first."""
    stmt = (
        select(Coverage)
        .where(Coverage.patient_id == patient_id)
        .order_by(Coverage.primary.desc(), Coverage.id)
    )
    return list(db.scalars(stmt))


def session(db: Session, clinic_id: int, session_id: int) -> TreatmentSession:
    """A treatment session of the clinic."""
    row = db.get(TreatmentSession, session_id)
    if row is None or row.clinic_id != clinic_id:
        raise NotFound("no such session")
    return row


def signed_sessions(db: Session, patient_id: int) -> list[TreatmentSession]:
    """The patient's signed sessions (charted twice before 0008: the kept row only), oldest
    first."""
    stmt = (
        select(TreatmentSession)
        .where(
            TreatmentSession.patient_id == patient_id,
            TreatmentSession.status == SessionStatus.signed,
            TreatmentSession.legacy_duplicate.is_(False),
        )
        .order_by(TreatmentSession.dose_start, TreatmentSession.id)
    )
    return list(db.scalars(stmt))


def lines_of_session(db: Session, session_id: int) -> list[BillingLine]:
    """Confirmed lines of a session that are not voided."""
    stmt = (
        select(BillingLine)
        .where(BillingLine.session_id == session_id, BillingLine.voided_at.is_(None))
        .order_by(BillingLine.id)
    )
    return list(db.scalars(stmt))


def lines_of_patient(
    db: Session, patient_id: int, start: date | None = None, end: date | None = None
) -> list[BillingLine]:
    """Confirmed lines of a patient (not voided), optionally within [start, end]."""
    stmt = select(BillingLine).where(
        BillingLine.patient_id == patient_id, BillingLine.voided_at.is_(None)
    )
    if start is not None:
        stmt = stmt.where(BillingLine.service_date >= start)
    if end is not None:
        stmt = stmt.where(BillingLine.service_date <= end)
    return list(db.scalars(stmt.order_by(BillingLine.service_date, BillingLine.id)))


def prior_auths(db: Session, patient_id: int) -> list[PriorAuth]:
    """The patient's prior authorisations, newest first."""
    stmt = select(PriorAuth).where(PriorAuth.patient_id == patient_id)
    return list(db.scalars(stmt.order_by(PriorAuth.requested_on.desc(), PriorAuth.id.desc())))


def patients_prior_auths(
    db: Session, clinic_id: int, patient_ids: list[int]
) -> dict[int, list[PriorAuth]]:
    """The prior authorisations of each of ``patient_ids`` in the clinic (one statement)."""
    out: dict[int, list[PriorAuth]] = {pid: [] for pid in patient_ids}
    stmt = select(PriorAuth).where(
        PriorAuth.clinic_id == clinic_id, PriorAuth.patient_id.in_(patient_ids)
    )
    for auth in db.scalars(stmt.order_by(PriorAuth.start_date, PriorAuth.id)):
        out[auth.patient_id].append(auth)
    return out


def upcoming_bookings(
    db: Session, patient_ids: list[int], start: datetime, end: datetime
) -> list[Booking]:
    """The holding bookings of ``patient_ids`` starting in ``[start, end)``."""
    stmt = select(Booking).where(
        Booking.patient_id.in_(patient_ids),
        Booking.holds.is_(True),
        Booking.starts_at >= start,
        Booking.starts_at < end,
    )
    return list(db.scalars(stmt.order_by(Booking.starts_at, Booking.id)))


def clinic_prior_auths(db: Session, clinic_id: int) -> list[PriorAuth]:
    """Every prior authorisation of the clinic (for alerts)."""
    return list(db.scalars(select(PriorAuth).where(PriorAuth.clinic_id == clinic_id)))


def prior_auth(db: Session, clinic_id: int, auth_id: int) -> PriorAuth:
    """One prior authorisation of the clinic."""
    row = db.get(PriorAuth, auth_id)
    if row is None or row.clinic_id != clinic_id:
        raise NotFound("no such prior authorisation", "prior_auth_id")
    return row


def prior_auth_events(db: Session, auth_id: int) -> list[PriorAuthEvent]:
    """The history of one prior authorisation, oldest first."""
    stmt = select(PriorAuthEvent).where(PriorAuthEvent.prior_auth_id == auth_id)
    return list(db.scalars(stmt.order_by(PriorAuthEvent.at, PriorAuthEvent.id)))


def ledger(db: Session, patient_id: int) -> list[LedgerEntry]:
    """The patient's ledger, oldest first."""
    stmt = select(LedgerEntry).where(LedgerEntry.patient_id == patient_id)
    return list(db.scalars(stmt.order_by(LedgerEntry.on_date, LedgerEntry.id)))


def claims(db: Session, patient_id: int) -> list[Claim]:
    """Claims made for a patient, newest first."""
    stmt = select(Claim).where(Claim.patient_id == patient_id).order_by(Claim.id.desc())
    return list(db.scalars(stmt))


def next_control_number(db: Session, clinic_id: int) -> int:
    """The next interchange control number of the clinic (1, 2, ...)."""
    last = db.execute(
        select(func.max(Claim.control_number)).where(Claim.clinic_id == clinic_id)
    ).scalar_one()
    return int(last or 0) + 1


def recent_signed(db: Session, clinic_id: int, limit: int = 100) -> list[TreatmentSession]:
    """The clinic's most recently signed sessions (the billing work list)."""
    stmt = (
        select(TreatmentSession)
        .where(
            TreatmentSession.clinic_id == clinic_id,
            TreatmentSession.status == SessionStatus.signed,
            TreatmentSession.legacy_duplicate.is_(False),
        )
        .order_by(TreatmentSession.signed_at.desc(), TreatmentSession.id.desc())
        .limit(limit)
    )
    return list(db.scalars(stmt))


def scores(db: Session, patient_id: int) -> dict[str, list[tuple[datetime, int]]]:
    """Scored assessments (a total was computed) of the patient by instrument, oldest first."""
    stmt = (
        select(Assessment.instrument_id, Assessment.completed_at, Assessment.total)
        .where(
            Assessment.patient_id == patient_id,
            Assessment.total.is_not(None),
        )
        .order_by(Assessment.completed_at, Assessment.id)
    )
    out: dict[str, list[tuple[datetime, int]]] = {}
    for instrument_id, at, total in db.execute(stmt):
        if total is not None:
            out.setdefault(instrument_id, []).append((at, int(total)))
    return out


def latest_rems_enrolment(db: Session, patient_id: int) -> str:
    """The REMS enrolment answer of the patient's latest charted checklist ("" if none)."""
    stmt = (
        select(TreatmentSession.checklist)
        .where(TreatmentSession.patient_id == patient_id)
        .order_by(TreatmentSession.created_at.desc(), TreatmentSession.id.desc())
        .limit(5)
    )
    for checklist in db.scalars(stmt):
        value = (checklist or {}).get("rems_enrolled")
        if value:
            return str(value)
    return ""


def lines_by_session(db: Session, session_ids: list[int]) -> dict[int, list[BillingLine]]:
    """Confirmed lines (not voided) of each of these sessions, in one statement (the work
    list showed 100 sessions with one statement each: benchmarks/pages.py)."""
    out: dict[int, list[BillingLine]] = {i: [] for i in session_ids}
    if not session_ids:
        return out
    stmt = (
        select(BillingLine)
        .where(BillingLine.session_id.in_(session_ids), BillingLine.voided_at.is_(None))
        .order_by(BillingLine.id)
    )
    for line in db.scalars(stmt):
        out[line.session_id].append(line)
    return out


def patients_by_id(db: Session, clinic_id: int, ids: set[int]) -> dict[int, Patient]:
    """The clinic's patients with these ids, in one statement."""
    if not ids:
        return {}
    stmt = select(Patient).where(Patient.clinic_id == clinic_id, Patient.id.in_(sorted(ids)))
    return {p.id: p for p in db.scalars(stmt)}


def coverage(db: Session, patient_id: int, coverage_id: int) -> Coverage:
    """One coverage of the patient (404 otherwise)."""
    row = db.get(Coverage, coverage_id)
    if row is None or row.patient_id != patient_id:
        raise NotFound("no such coverage", "coverage_id")
    return row
