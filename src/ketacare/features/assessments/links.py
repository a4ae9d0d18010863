"""Schedules, their expansion into due dates, one-time links, dispatch and the overdue list.

A due occurrence becomes one :class:`Invitation` (unique per schedule and due time, so several
workers expanding at once create it once). Its random token exists only in memory long enough
to be sent; the database keeps an HMAC-SHA256 of it. Occurrences already past their link
lifetime when first expanded are stored as ``missed`` (no link is sent) so that they still
show on the overdue list.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ketacare.features._kit import clock
from ketacare.features._kit.dates import parse_day
from ketacare.features._kit.errors import BadRequest, KetacareError, NotFound
from ketacare.features.assessments.models import (
    Assessment,
    Invitation,
    Recurrence,
    Schedule,
    Source,
)
from ketacare.features.assessments.service import store_assessment
from ketacare.features.assessments.sessions import SessionSource, planned_sessions
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.service import token_hash
from ketacare.features.clinics.models import Clinic
from ketacare.features.instruments.texts import clinic_instrument, linkable
from ketacare.features.patients.models import Patient
from ketacare.settings import OutcomeBaseline, Settings

MAX_OCCURRENCES = 1000
log = logging.getLogger("ketacare.assessments")


class LinkGone(KetacareError):
    """The link was used already or has expired."""

    status_code = 410


@dataclass(frozen=True, slots=True)
class ScheduleInput:
    """A schedule as typed in a form or sent as JSON (strings for dates)."""

    instrument_id: str
    recurrence: str
    start_date: str
    interval_weeks: int = 1
    until_date: str = ""


def validate_schedule(
    db: Session, clinic_id: int, data: ScheduleInput
) -> tuple[str, Recurrence, int, date, date | None]:
    """Check a schedule for a patient of the clinic; BadRequest names the first bad field."""
    inst = clinic_instrument(db, clinic_id, data.instrument_id)
    if not linkable(inst):
        raise BadRequest(
            f"{inst.short_name} cannot be sent as a link (clinician-rated, or item text not "
            "shipped and not loaded by this clinic); enter its scores as a clinician instead",
            "instrument",
        )
    try:
        rec = Recurrence(data.recurrence)
    except ValueError:
        raise BadRequest(
            "must be one of " + ", ".join(r.value for r in Recurrence), "recurrence"
        ) from None
    weeks = 1 if rec == Recurrence.weekly else data.interval_weeks
    if rec == Recurrence.every_n_weeks and not 1 <= weeks <= 52:
        raise BadRequest("must be from 1 to 52", "interval_weeks")
    start = parse_day(data.start_date, "start_date")
    until = parse_day(data.until_date, "until_date") if data.until_date.strip() else None
    if until is not None and until < start:
        raise BadRequest("must not be before the start date", "until_date")
    return inst.id, rec, weeks, start, until


def create_schedule(db: Session, patient: Patient, data: ScheduleInput, user_id: int) -> Schedule:
    """Store a schedule for the patient (flushed)."""
    iid, rec, weeks, start, until = validate_schedule(db, patient.clinic_id, data)
    row = Schedule(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        instrument_id=iid,
        recurrence=rec,
        interval_weeks=weeks,
        start_date=start,
        until_date=None if rec == Recurrence.once else until,
        created_by_id=user_id,
    )
    db.add(row)
    db.flush()
    return row


def add_schedule(db: Session, actor: Actor, patient: Patient, data: ScheduleInput) -> Schedule:
    """Store a schedule made by ``actor`` (a staff member) and audit it."""
    assert actor.user is not None
    row = create_schedule(db, patient, data, actor.user.id)
    record(db, actor, "create", "assessment_schedule", row.id, patient.id)
    return row


def change_schedule(
    db: Session,
    actor: Actor,
    row: Schedule,
    now: datetime,
    *,
    until: date | bool | None = False,
    stop: bool = False,
    action: str = "update",
) -> Schedule:
    """Set the end date (``until``: a day, None for no end, False to keep it) and/or stop the
    schedule; audited as ``action`` (``update``, or ``delete`` for the API's DELETE)."""
    if until is not False:
        if isinstance(until, date) and until < row.start_date:
            raise BadRequest("must not be before the start date", "until_date")
        row.until_date = until if isinstance(until, date) else None
    if stop:
        stop_schedule(db, row, now)
    db.flush()
    record(db, actor, action, "assessment_schedule", row.id, row.patient_id)
    return row


def get_schedule(db: Session, patient_id: int, schedule_id: int) -> Schedule:
    """A schedule of this patient (the caller has checked the patient's clinic)."""
    row = db.execute(
        select(Schedule).where(Schedule.id == schedule_id, Schedule.patient_id == patient_id)
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("no such schedule")
    return row


def list_schedules(db: Session, patient_id: int) -> list[Schedule]:
    """The patient's schedules, active first."""
    stmt = select(Schedule).where(Schedule.patient_id == patient_id)
    return list(db.execute(stmt.order_by(Schedule.active.desc(), Schedule.id)).scalars())


def stop_schedule(db: Session, schedule: Schedule, now: datetime) -> None:
    """Deactivate; its unanswered links stop working now."""
    schedule.active = False
    db.execute(
        update(Invitation)
        .where(
            Invitation.schedule_id == schedule.id,
            Invitation.used_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(expires_at=now)
    )
    db.flush()


def at_midnight(day: date) -> datetime:
    """00:00 UTC on ``day`` (calendar schedules fall due at the start of the day)."""
    return datetime.combine(day, time(0, 0), tzinfo=UTC)


def occurrences(
    schedule: Schedule, through: datetime, sessions: Sequence[datetime], lead: timedelta
) -> list[datetime]:
    """Due times of ``schedule`` up to ``through`` (inclusive), oldest first."""
    start = at_midnight(schedule.start_date)
    end = through
    if schedule.until_date is not None:
        end = min(end, at_midnight(schedule.until_date + timedelta(days=1)) - timedelta(seconds=1))
    if schedule.recurrence == Recurrence.once:
        return [start] if start <= through else []
    if schedule.recurrence == Recurrence.before_session:
        last = at_midnight(schedule.until_date + timedelta(days=1)) if schedule.until_date else None
        kept = [s for s in sessions if s >= start and (last is None or s < last)]
        return [d for d in sorted({s - lead for s in kept}) if d <= through][:MAX_OCCURRENCES]
    step = timedelta(weeks=max(1, schedule.interval_weeks))
    out: list[datetime] = []
    t = start
    while t <= end and len(out) < MAX_OCCURRENCES:
        out.append(t)
        t += step
    return out


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A link to send once the transaction that created it has committed."""

    invitation_id: int
    patient_id: int
    email: str
    url: str
    expires_at: datetime
    tz: str = "UTC"  # the clinic's zone, for the times the message shows


def _insert_invitation(db: Session, values: dict[str, object]) -> int | None:
    """Insert unless (schedule, due time) exists already; return the new id or None."""
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = (
        insert(Invitation)
        .values(**values)
        .on_conflict_do_nothing(index_elements=[Invitation.schedule_id, Invitation.due_at])
        .returning(Invitation.id)
    )
    new_id = db.execute(stmt).scalar_one_or_none()
    return int(new_id) if new_id is not None else None


def new_link(
    db: Session, settings: Settings, patient: Patient, instrument_id: str, due: datetime,
    now: datetime, schedule_id: int | None = None,
) -> Outgoing | None:  # fmt: skip
    """Create the invitation for one due assessment; None if it exists or is already missed."""
    token = secrets.token_urlsafe(32)
    expires = due + timedelta(hours=settings.assessment_link_hours)
    missed = expires <= now
    values: dict[str, object] = {
        "clinic_id": patient.clinic_id,
        "patient_id": patient.id,
        "schedule_id": schedule_id,
        "instrument_id": instrument_id,
        "token_hash": token_hash(settings.secret_key.get_secret_value(), token),
        "due_at": due,
        "expires_at": expires,
        "delivery": "missed" if missed else "pending",
        "created_at": now,
    }
    if schedule_id is None:
        db.add(inv := Invitation(**values))
        db.flush()
        new_id: int | None = inv.id
    else:
        new_id = _insert_invitation(db, values)
    if new_id is None or missed:
        return None
    url = f"{settings.public_url.rstrip('/')}/a/{token}"
    tz = clock.clinic_tz(db.get(Clinic, patient.clinic_id), settings.timezone).key
    return Outgoing(new_id, patient.id, patient.email, url, expires, tz)


def dispatch_due(
    db: Session,
    settings: Settings,
    now: datetime,
    schedule_ids: Sequence[int] | None = None,
    sessions: SessionSource = planned_sessions,
    clinic_id: int | None = None,
) -> list[Outgoing]:
    """Create the links of every active schedule's occurrences due by ``now``.

    A schedule that fails (a bad stored row) is logged by id, without patient data, and
    skipped; the links of the other schedules are still created.
    """
    stmt = select(Schedule, Patient).join(Patient, Patient.id == Schedule.patient_id)
    stmt = stmt.where(Schedule.active.is_(True))
    if schedule_ids is not None:
        stmt = stmt.where(Schedule.id.in_(list(schedule_ids)))
    if clinic_id is not None:
        stmt = stmt.where(Schedule.clinic_id == clinic_id)
    lead = timedelta(hours=settings.assessment_session_lead_hours)
    out: list[Outgoing] = []
    can_link: dict[tuple[int, str], bool] = {}
    for schedule, patient in db.execute(stmt.order_by(Schedule.id)).all():
        try:
            out += _dispatch_one(db, settings, now, schedule, patient, sessions, lead, can_link)
        except Exception as exc:  # one bad row must not stop the clinic's other links
            log.error("schedule %s skipped: %s", schedule.id, type(exc).__name__)
    db.flush()
    return out


def _dispatch_one(
    db: Session, settings: Settings, now: datetime, schedule: Schedule, patient: Patient,
    sessions: SessionSource, lead: timedelta, can_link: dict[tuple[int, str], bool],
) -> list[Outgoing]:  # fmt: skip
    key = (schedule.clinic_id, schedule.instrument_id)
    if key not in can_link:  # the clinic may have unloaded its licensed text since
        can_link[key] = linkable(clinic_instrument(db, *key))
    if not can_link[key]:
        return []
    planned = sessions(db, patient.id) if schedule.recurrence == Recurrence.before_session else []
    due = occurrences(schedule, now, planned, lead)
    if not due:
        return []
    have = set(
        db.execute(select(Invitation.due_at).where(Invitation.schedule_id == schedule.id)).scalars()
    )
    out: list[Outgoing] = []
    todo = [when for when in due if when not in have]
    if todo:
        with db.begin_nested():  # all of this schedule's new links, or none
            for when in todo:
                sent = new_link(db, settings, patient, schedule.instrument_id, when, now,
                                schedule.id)  # fmt: skip
                if sent is not None:
                    out.append(sent)
    return out


def fresh_link(db: Session, settings: Settings, inv: Invitation, now: datetime) -> Outgoing:
    """A new token for an open link (the old one stops working), to show staff and resend.

    The database keeps only the token's HMAC, so a link can be shown again only as a new one.
    """
    check_open(inv, now)
    patient = db.get(Patient, inv.patient_id)
    assert patient is not None
    token = secrets.token_urlsafe(32)
    inv.token_hash = token_hash(settings.secret_key.get_secret_value(), token)
    inv.delivery = "shown"
    db.flush()
    url = f"{settings.public_url.rstrip('/')}/a/{token}"
    return Outgoing(inv.id, patient.id, patient.email, url, inv.expires_at)


def get_invitation(db: Session, patient_id: int, invitation_id: int) -> Invitation:
    """A link of this patient (the caller has checked the patient's clinic), or NotFound."""
    row = db.execute(
        select(Invitation).where(
            Invitation.id == invitation_id, Invitation.patient_id == patient_id
        )
    ).scalar_one_or_none()
    if row is None:
        raise NotFound("no such link")
    return row


def resend(
    db: Session, actor: Actor, settings: Settings, inv: Invitation, now: datetime
) -> Outgoing:
    """:func:`fresh_link`, audited as a resend by ``actor``."""
    out = fresh_link(db, settings, inv, now)
    record(db, actor, "resend", "assessment_link", inv.id, inv.patient_id)
    return out


def find_invitation(db: Session, secret: str, token: str) -> Invitation:
    """The invitation of a link token (NotFound for an unknown token)."""
    if not 20 <= len(token) <= 100:
        raise NotFound("this link is not valid")
    inv = db.execute(
        select(Invitation).where(Invitation.token_hash == token_hash(secret, token))
    ).scalar_one_or_none()
    if inv is None:
        raise NotFound("this link is not valid")
    return inv


def check_open(inv: Invitation, now: datetime) -> None:
    """LinkGone when the link was used or has expired."""
    if inv.used_at is not None:
        raise LinkGone("this link has already been used")
    if inv.expires_at <= now:
        raise LinkGone("this link has expired")


def claim(db: Session, inv: Invitation, now: datetime) -> None:
    """Mark the link used, once: a conditional UPDATE, so a second submit finds it used."""
    result = db.execute(
        update(Invitation)
        .where(Invitation.id == inv.id, Invitation.used_at.is_(None), Invitation.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise LinkGone("this link has already been used")
    inv.used_at = now


@dataclass(frozen=True, slots=True)
class OverdueRow:
    """An assessment due and not completed."""

    invitation_id: int
    patient_id: int
    patient_name: str
    instrument_id: str
    due_at: datetime
    expires_at: datetime
    status: str  # "open" (link still works) or "missed"
    delivery: str


def overdue(db: Session, clinic_id: int, now: datetime, days: int = 90) -> list[OverdueRow]:
    """Due, unanswered assessments of the clinic in the last ``days``, oldest first (links of
    stopped schedules are no longer expected)."""
    stmt = (
        select(Invitation, Patient)
        .join(Patient, Patient.id == Invitation.patient_id)
        .outerjoin(Schedule, Schedule.id == Invitation.schedule_id)
        .where(
            Invitation.clinic_id == clinic_id,
            or_(Invitation.schedule_id.is_(None), Schedule.active.is_(True)),
            Invitation.used_at.is_(None),
            Invitation.due_at <= now,
            Invitation.due_at >= now - timedelta(days=days),
        )
        .order_by(Invitation.due_at, Invitation.id)
        .limit(2000)
    )
    return [
        OverdueRow(
            inv.id,
            p.id,
            p.display_name,
            inv.instrument_id,
            inv.due_at,
            inv.expires_at,
            "open" if inv.expires_at > now else "missed",
            inv.delivery,
        )
        for inv, p in db.execute(stmt).all()
    ]


def overdue_for(db: Session, actor: Actor, now: datetime, days: int = 90) -> list[OverdueRow]:
    """:func:`overdue` of the actor's clinic (``days`` clamped to 1..3650), audited as a list."""
    assert actor.user is not None
    rows = overdue(db, actor.user.clinic_id, now, max(1, min(days, 3650)))
    record(db, actor, "list", "overdue", patients=[r.patient_id for r in rows])
    return rows


def pending_links(db: Session, patient_id: int) -> list[Invitation]:
    """The patient's links, newest due first."""
    stmt = select(Invitation).where(Invitation.patient_id == patient_id)
    return list(db.execute(stmt.order_by(Invitation.due_at.desc()).limit(200)).scalars())


def answer_link(
    db: Session,
    actor: Actor,
    inv: Invitation,
    instrument_id: str,
    answers: object,
    idempotency_key: str | None,
    now: datetime,
    baseline_rule: OutcomeBaseline = "before_first_dose",
) -> Assessment:
    """Claim a one-time link (LinkGone if used meanwhile) and store its answers."""
    claim(db, inv, now)
    patient = db.get(Patient, inv.patient_id)
    assert patient is not None
    row, _, _ = store_assessment(
        db, patient, instrument_id, answers, Source.link, actor, now, idempotency_key,
        baseline_rule, now=now,
    )  # fmt: skip
    inv.assessment_id = row.id
    db.flush()
    return row
