"""What the billing pages and API show, built from the services (shared by both)."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ketacare.domain.billing.codes import AuthAlertConfig
from ketacare.features._kit import clock
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.billing import queries, service
from ketacare.features.billing.models import BillingLine, LedgerEntry
from ketacare.features.billing.schemas import (
    ConfirmedLine,
    LedgerOut,
    PatientBillingOut,
    PriorAuthOut,
    ReasonOut,
    SessionBillingOut,
    SuggestedLine,
)
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.models import TreatmentSession
from ketacare.settings import Settings


def tz_of(actor: Actor, settings: Settings) -> ZoneInfo:
    """The caller's clinic's zone (else KETACARE_TIMEZONE)."""
    clinic = actor.user.clinic if actor.user is not None else None
    return clock.clinic_tz(clinic, settings.timezone)


def lead_of(db: Session, clinic_id: int) -> AuthAlertConfig:
    """The clinic's alert lead times (billing profile; defaults without one)."""
    profile = queries.profile(db, clinic_id)
    if profile is None:
        return AuthAlertConfig()
    return AuthAlertConfig(profile.auth_expiry_lead_days, profile.auth_units_lead)


def confirmed(line: BillingLine) -> ConfirmedLine:
    """API form of a confirmed line."""
    return ConfirmedLine.model_validate(line, from_attributes=True)


def session_view(db: Session, actor: Actor, s: TreatmentSession, tz: ZoneInfo) -> SessionBillingOut:
    """Suggested and confirmed codes of one session (audited read)."""
    b = service.session_billing(db, actor, s, tz)
    return SessionBillingOut(
        session_id=s.id,
        patient_id=s.patient_id,
        service_date=service.service_date(s, tz),
        payer=b.payer.name if b.payer else None,
        suggested=[SuggestedLine.model_validate(x.as_dict()) for x in b.suggestion.lines],
        notes=[ReasonOut.model_validate(r.as_dict()) for r in b.suggestion.notes],
        confirmed=[confirmed(x) for x in b.lines],
        stale=b.stale,
    )


def prior_auth_views(
    db: Session, patient: Patient, today: date, tz: ZoneInfo
) -> list[PriorAuthOut]:
    """The patient's prior authorisations with units used and alerts."""
    lead = lead_of(db, patient.clinic_id)
    out = []
    for u in service.usages(db, queries.prior_auths(db, patient.id), today, tz, lead):
        auth = u.auth
        out.append(PriorAuthOut(
            id=auth.id, payer_id=auth.payer_id, codes=auth.codes, status=auth.status,
            auth_number=auth.auth_number, approved_units=auth.approved_units,
            start_date=auth.start_date, end_date=auth.end_date, used=u.used,
            remaining=u.remaining, alerts=[ReasonOut.model_validate(r.as_dict()) for r in u.alerts],
        ))  # fmt: skip
    return out


def ledger_out(entry: LedgerEntry) -> LedgerOut:
    """API form of a ledger entry."""
    return LedgerOut.model_validate(entry, from_attributes=True)


def patient_view(db: Session, patient: Patient, today: date, tz: ZoneInfo) -> PatientBillingOut:
    """A patient's billing record (the loader audited the read)."""
    entries = queries.ledger(db, patient.id)
    return PatientBillingOut(
        patient_id=patient.id,
        given_name=patient.given_name,
        family_name=patient.family_name,
        birth_date=patient.birth_date,
        lines=[confirmed(x) for x in queries.lines_of_patient(db, patient.id)],
        prior_auths=prior_auth_views(db, patient, today, tz),
        ledger=[ledger_out(e) for e in entries],
        balance_cents=service.balance(entries),
    )


def work_list(
    db: Session, actor: Actor, tz: ZoneInfo, today: date
) -> tuple[
    list[tuple[TreatmentSession, Patient, date, str]], list[tuple[Patient, service.AuthUsage]]
]:
    """The billing work list: recently signed sessions with their billing state, and the prior
    authorisations with alerts (audited with every patient shown)."""
    assert actor.clinic_id is not None
    clinic_id = actor.clinic_id
    # A fixed number of statements whatever the length of the list (it ran two per session).
    signed = queries.recent_signed(db, clinic_id)
    auths = queries.clinic_prior_auths(db, clinic_id)
    people = queries.patients_by_id(
        db, clinic_id, {s.patient_id for s in signed} | {a.patient_id for a in auths}
    )
    session_lines = queries.lines_by_session(db, [s.id for s in signed])
    rows = []
    for s in signed:
        lines = session_lines[s.id]
        state = "to confirm"
        if lines:
            stale = any(x.session_version != s.version for x in lines)
            state = "amended: confirm again" if stale else "confirmed"
        rows.append((s, people[s.patient_id], service.service_date(s, tz), state))
    lead = lead_of(db, clinic_id)
    alerts: list[tuple[Patient, service.AuthUsage]] = []
    for u in service.usages(db, auths, today, tz, lead):
        if u.alerts:
            alerts.append((people[u.auth.patient_id], u))
    shown = {p.id for _, p, _, _ in rows} | {p.id for p, _ in alerts}
    record(db, actor, "list", "billing_patient", patients=sorted(shown))
    return rows, alerts
