"""Billing use cases: suggest and confirm codes for signed sessions, prior-authorisation
burn-down, the patient ledger. Services take ``actor`` and ``now``, audit themselves and
``flush()``, never ``commit()``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.domain.billing import codes as rules
from ketacare.domain.rules import Reason
from ketacare.features._kit import clock
from ketacare.features._kit.errors import BadRequest, KetacareError
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.billing import queries
from ketacare.features.billing.models import (
    BillingLine,
    Coverage,
    LedgerEntry,
    Payer,
    PriorAuth,
    PriorAuthEvent,
)
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.models import SessionStatus, TreatmentSession

AUTH_STATUSES = ("requested", "approved", "denied", "appealed", "expired", "withdrawn")
LEDGER_KINDS = ("charge", "payment", "adjustment")
MAX_CENTS = 10_000_000  # $100,000 per entry


class Conflict(KetacareError):
    """The write collides with one already stored."""

    status_code = 409


def payer_policy(payer: Payer | None) -> rules.PayerPolicy:
    """The payer's coding choices (defaults follow Medicare; self-pay: the defaults)."""
    if payer is None:
        return rules.PayerPolicy()
    p: dict[str, Any] = payer.policy or {}
    base = rules.PayerPolicy()
    switch = p.get("drug_code_switch")
    return rules.PayerPolicy(
        uses_g_codes=bool(p.get("uses_g_codes", base.uses_g_codes)),
        bills_drug_separately=bool(p.get("bills_drug_separately", base.bills_drug_separately)),
        drug_code_switch=date.fromisoformat(switch) if switch else base.drug_code_switch,
        bundles_em=bool(p.get("bundles_em", base.bundles_em)),
        place_of_service=str(p.get("place_of_service", base.place_of_service)),
        modifiers={k: tuple(v) for k, v in (p.get("modifiers") or {}).items()},
        em_modifier=str(p.get("em_modifier", base.em_modifier)),
    )


def service_date(s: TreatmentSession, tz: ZoneInfo) -> date:
    """The clinic-local day of the session (dose start, else signing, else creation)."""
    when = s.dose_start or s.signed_at or s.created_at
    day = clock.local_date(when, tz)
    assert day is not None
    return day


def facts_of(db: Session, s: TreatmentSession, tz: ZoneInfo) -> rules.SessionFacts:
    """What the rules read from a session (and the patient's earlier signed sessions)."""
    day = service_date(s, tz)
    prior = tuple(
        service_date(o, tz) for o in queries.signed_sessions(db, s.patient_id) if o.id != s.id
    )
    return rules.SessionFacts(
        service_date=day,
        route=s.route,
        signed=s.status == SessionStatus.signed,
        dose_mg=s.given_dose_mg,
        dose_start=s.dose_start,
        dose_end=s.dose_end,
        monitoring_end=s.discharged_at,
        prior_service_dates=prior,
    )


def primary_payer(db: Session, patient_id: int) -> Payer | None:
    """The payer of the patient's primary coverage (None: self-pay)."""
    found = queries.coverages(db, patient_id)
    return db.get(Payer, found[0].payer_id) if found else None


@dataclass(frozen=True)
class SessionBilling:
    """A session's suggestion, its confirmed lines and whether they are stale."""

    session: TreatmentSession
    payer: Payer | None
    suggestion: rules.Suggestion
    lines: list[BillingLine]

    @property
    def stale(self) -> bool:
        """Confirmed before an amendment of the session."""
        return any(line.session_version != self.session.version for line in self.lines)


def session_billing(
    db: Session, actor: Actor, s: TreatmentSession, tz: ZoneInfo, audit: bool = True
) -> SessionBilling:
    """The suggested and confirmed codes of a session (audited as a read of billing data)."""
    payer = primary_payer(db, s.patient_id)
    suggestion = rules.suggest(facts_of(db, s, tz), payer_policy(payer))
    if audit:
        record(db, actor, "read", "billing_session", s.id, s.patient_id)
    return SessionBilling(s, payer, suggestion, queries.lines_of_session(db, s.id))


def confirm(
    db: Session, actor: Actor, s: TreatmentSession, codes: list[str], now: datetime, tz: ZoneInfo
) -> list[BillingLine]:
    """Confirm suggested ``codes`` of a signed session; lines of an earlier version are voided.

    A code already confirmed for this version is kept (a repeated confirm stores nothing).
    """
    if s.status != SessionStatus.signed:
        raise Conflict("only a signed session can be billed", "session")
    current = session_billing(db, actor, s, tz, audit=False)
    by_code = {line.code: line for line in current.suggestion.lines}
    if not codes:
        raise BadRequest("choose at least one code", "codes")
    for code in codes:
        if code not in by_code:
            raise BadRequest(f"{code} is not a suggested code for this session", "codes")
    kept = []
    for line in current.lines:
        if line.session_version != s.version or line.code not in codes:
            line.voided_at = now
            line.void_reason = (
                "session amended" if line.session_version != s.version else "not confirmed again"
            )
        else:
            kept.append(line.code)
    db.flush()
    profile = queries.profile(db, s.clinic_id)
    fees: dict[str, Any] = profile.fees if profile else {}
    day = service_date(s, tz)
    made = []
    for code in codes:
        if code in kept:
            continue
        suggested = by_code[code]
        fee = int(fees.get(code, 0))
        line = BillingLine(
            clinic_id=s.clinic_id,
            patient_id=s.patient_id,
            session_id=s.id,
            session_version=s.version,
            payer_id=current.payer.id if current.payer else None,
            service_date=day,
            code=code,
            units=suggested.units,
            modifiers=",".join(suggested.modifiers),
            place_of_service=suggested.place_of_service,
            charge_cents=fee * suggested.units,
            reasons=[r.as_dict() for r in suggested.reasons],
            confirmed_by_id=actor.user_id,
            confirmed_by_email=actor.label,
            confirmed_at=now,
        )
        db.add(line)
        made.append(line)
    try:
        db.flush()
    except IntegrityError as exc:  # a concurrent confirm of the same code
        raise Conflict("these codes were just confirmed by someone else", "codes") from exc
    for line in made:
        if current.payer is None and line.charge_cents > 0:
            db.add(LedgerEntry(
                clinic_id=s.clinic_id, patient_id=s.patient_id, kind="charge",
                amount_cents=line.charge_cents, on_date=line.service_date,
                memo=f"{line.code} x {line.units}", billing_line_id=line.id,
                by_id=actor.user_id,
            ))  # fmt: skip
    db.flush()
    record(db, actor, "update", "billing_session", s.id, s.patient_id)
    return queries.lines_of_session(db, s.id)


# --- prior authorisation ---------------------------------------------------------------------


def window(auth: PriorAuth) -> rules.AuthWindow:
    """The domain view of a stored authorisation."""
    codes = frozenset(c.strip() for c in auth.codes.split(",") if c.strip())
    return rules.AuthWindow(codes, auth.approved_units, auth.start_date, auth.end_date, auth.status)


@dataclass(frozen=True)
class AuthUsage:
    """Units used of an authorisation, what is left and its alerts."""

    auth: PriorAuth
    used: int
    remaining: int | None
    alerts: tuple[Reason, ...]


def session_units(
    db: Session, s: TreatmentSession, payer: Payer | None, tz: ZoneInfo
) -> tuple[date, tuple[tuple[str, int], ...]]:
    """(service date, ((code, units), ...)) of a signed session: its confirmed lines when they
    are current, else what the rules suggest (so an amendment is counted at once)."""
    facts = facts_of(db, s, tz)
    lines = [x for x in queries.lines_of_session(db, s.id) if x.session_version == s.version]
    if lines:
        return facts.service_date, tuple((x.code, x.units) for x in lines)
    suggestion = rules.suggest(facts, payer_policy(payer))
    return facts.service_date, tuple((x.code, x.units) for x in suggestion.lines)


def usage(
    db: Session, auth: PriorAuth, today: date, tz: ZoneInfo, lead: rules.AuthAlertConfig
) -> AuthUsage:
    """Burn-down of one authorisation from the patient's signed sessions."""
    return usages(db, [auth], today, tz, lead)[0]


def usages(
    db: Session,
    auths: Sequence[PriorAuth],
    today: date,
    tz: ZoneInfo,
    lead: rules.AuthAlertConfig,
) -> list[AuthUsage]:
    """Burn-down of each of ``auths``, in order. The signed sessions' units are read once per
    patient and payer (a patient with several authorisations, or a work list of many, does
    not re-read every session per authorisation)."""
    payers: dict[int, Payer | None] = {}
    units: dict[tuple[int, int], list[tuple[date, tuple[tuple[str, int], ...]]]] = {}
    out = []
    for auth in auths:
        key = (auth.patient_id, auth.payer_id)
        if key not in units:
            if auth.payer_id not in payers:
                payers[auth.payer_id] = db.get(Payer, auth.payer_id)
            payer = payers[auth.payer_id]
            units[key] = [
                session_units(db, s, payer, tz)
                for s in queries.signed_sessions(db, auth.patient_id)
            ]
        w = window(auth)
        used = rules.units_used(w, units[key])
        remaining = None if auth.approved_units is None else auth.approved_units - used
        out.append(AuthUsage(auth, used, remaining, rules.auth_alerts(w, used, today, lead)))
    return out


def booking_flags(
    db: Session, clinic_id: int, bookings: list[Any], now: datetime, tz: str
) -> dict[int, list[str]]:
    """The scheduling day view's hook (issue 20.3): for each upcoming booking of ``bookings``
    that goes beyond its patient's approved prior-authorisation units or dates, the reasons
    (``text [rule id]``). Bookings already started are not flagged; earlier upcoming bookings
    of the same patient count against the units first."""
    upcoming = [b for b in bookings if b.holds and b.starts_at >= now]
    if not upcoming:
        return {}
    zone = ZoneInfo(tz)
    today = now.astimezone(zone).date()
    auths = queries.patients_prior_auths(db, clinic_id, sorted({b.patient_id for b in upcoming}))
    patients = [pid for pid, rows in auths.items() if rows]
    if not patients:
        return {}
    end = max(b.starts_at for b in upcoming) + timedelta(seconds=1)
    visits: dict[int, list[rules.PlannedVisit]] = {pid: [] for pid in patients}
    for b in queries.upcoming_bookings(db, patients, now, end):
        visits[b.patient_id].append(
            rules.PlannedVisit(b.id, b.starts_at.astimezone(zone).date(), b.kind.value)
        )
    out: dict[int, list[str]] = {}
    lead = rules.AuthAlertConfig()
    profile = queries.profile(db, clinic_id)
    codes = rules.parse_booking_codes(profile.booking_codes if profile else "")
    for pid in patients:
        used = usages(db, auths[pid], today, zone, lead)
        windows = [(window(u.auth), u.used) for u in used]
        for key, reasons in rules.booking_auth_flags(windows, visits[pid], codes).items():
            out[key] = [f"{r.text} [{r.rule_id}]" for r in reasons]
    return out


@dataclass(frozen=True)
class AuthInput:
    """A new prior authorisation (or request)."""

    payer_id: int
    codes: str
    requested_on: date
    status: str = "requested"
    auth_number: str = ""
    approved_units: int | None = None
    start_date: date | None = None
    end_date: date | None = None
    note: str = ""


def add_prior_auth(
    db: Session, actor: Actor, patient: Patient, data: AuthInput, now: datetime
) -> PriorAuth:
    """Record a prior authorisation for ``patient`` (validated; 4xx names the field)."""
    queries.payer(db, patient.clinic_id, data.payer_id)
    if data.status not in AUTH_STATUSES:
        raise BadRequest(f"must be one of {', '.join(AUTH_STATUSES)}", "status")
    codes = [c.strip().upper() for c in data.codes.split(",") if c.strip()]
    if not codes or any(not c.isalnum() or len(c) > 8 for c in codes):
        raise BadRequest("list billing codes separated by commas, e.g. G2082,G2083", "codes")
    if data.approved_units is not None and not (1 <= data.approved_units <= 1000):
        raise BadRequest("must be between 1 and 1000", "approved_units")
    if data.start_date and data.end_date and data.end_date < data.start_date:
        raise BadRequest("must not be before the start date", "end_date")
    if data.status == "approved" and (data.approved_units is None or data.end_date is None):
        raise BadRequest("an approval needs approved units and an end date", "approved_units")
    auth = PriorAuth(
        clinic_id=patient.clinic_id, patient_id=patient.id, payer_id=data.payer_id,
        codes=",".join(codes), status=data.status, requested_on=data.requested_on,
        auth_number=data.auth_number.strip()[:50], approved_units=data.approved_units,
        start_date=data.start_date, end_date=data.end_date, created_at=now,
    )  # fmt: skip
    db.add(auth)
    db.flush()
    db.add(PriorAuthEvent(prior_auth_id=auth.id, kind="status", status=data.status,
                          note=data.note[:2000], by_id=actor.user_id, at=now))  # fmt: skip
    db.flush()
    record(db, actor, "create", "prior_auth", auth.id, patient.id)
    return auth


def add_ledger_entry(
    db: Session, actor: Actor, patient: Patient, kind: str, cents: int, on: date, memo: str
) -> LedgerEntry:
    """A charge, payment or adjustment (adjustments may be negative)."""
    if kind not in LEDGER_KINDS:
        raise BadRequest("must be charge, payment or adjustment", "kind")
    if abs(cents) > MAX_CENTS or cents == 0 or (kind != "adjustment" and cents < 0):
        raise BadRequest("must be a non-zero amount up to 100000.00", "amount")
    entry = LedgerEntry(
        clinic_id=patient.clinic_id, patient_id=patient.id, kind=kind, amount_cents=cents,
        on_date=on, memo=memo.strip()[:200], by_id=actor.user_id,
    )  # fmt: skip
    db.add(entry)
    db.flush()
    record(db, actor, "create", "billing_ledger", entry.id, patient.id)
    return entry


def balance(entries: list[LedgerEntry]) -> int:
    """What the patient owes in cents: charges minus payments, plus adjustments."""
    total = 0
    for e in entries:
        total += -e.amount_cents if e.kind == "payment" else e.amount_cents
    return total


def add_coverage(
    db: Session, actor: Actor, patient: Patient, payer_id: int, member_id: str, **address: str
) -> Coverage:
    """Record the patient's insurance with a payer."""
    queries.payer(db, patient.clinic_id, payer_id)
    member = member_id.strip()
    if not member or len(member) > 80:
        raise BadRequest("enter the member id (up to 80 characters)", "member_id")
    row = Coverage(clinic_id=patient.clinic_id, patient_id=patient.id, payer_id=payer_id,
                   member_id=member, **address)  # fmt: skip
    db.add(row)
    try:
        db.flush()
    except IntegrityError as exc:
        raise Conflict("the patient already has coverage with this payer", "payer_id") from exc
    record(db, actor, "create", "billing_coverage", row.id, patient.id)
    return row
