"""Assessment schedules, their expansion into due dates, one-time links, dispatch and the
overdue list (use cases: audited here, flushed, never committed; statements in ``queries``).

A due occurrence becomes one :class:`Invitation` (unique per schedule and due time, so several
workers expanding at once create it once). Its random token exists only in memory long enough
to be sent; the database keeps an HMAC-SHA256 of it. Occurrences already past their link
lifetime when first expanded are stored as ``missed`` (no link is sent) so that they still
show on the overdue list. Answering a link stores an assessment, so that step belongs to
``features/assessments`` (``service.answer_link``), above this package: it finds, checks and
claims the link through :func:`find_invitation`, :func:`check_open` and :func:`claim`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session

from ketacare.features._kit import clock
from ketacare.features._kit.dates import parse_day
from ketacare.features._kit.errors import BadRequest, KetacareError, NotFound
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.service import token_hash
from ketacare.features.clinics.models import Clinic
from ketacare.features.instruments.texts import clinic_instrument, linkable
from ketacare.features.outreach import queries
from ketacare.features.outreach.models import Invitation, Recurrence, Schedule
from ketacare.features.patients.models import Patient
from ketacare.settings import Settings

MAX_OCCURRENCES = 1000
log = logging.getLogger("ketacare.outreach")
#: Where a patient's treatment sessions come from (the "before each session" recurrence).
SessionSource = Callable[[Session, int], list[datetime]]


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
    row = queries.get_schedule(db, patient_id, schedule_id)
    if row is None:
        raise NotFound("no such schedule")
    return row


def stop_schedule(db: Session, schedule: Schedule, now: datetime) -> None:
    """Deactivate; its unanswered links stop working now."""
    schedule.active = False
    queries.expire_open_links(db, schedule.id, now)
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
        new_id = queries.insert_invitation(db, values)
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
    sessions: SessionSource = queries.planned_sessions,
    clinic_id: int | None = None,
) -> list[Outgoing]:
    """Create the links of every active schedule's occurrences due by ``now``.

    A schedule that fails (a bad stored row) is logged by id, without patient data, and
    skipped; the links of the other schedules are still created.
    """
    lead = timedelta(hours=settings.assessment_session_lead_hours)
    out: list[Outgoing] = []
    can_link: dict[tuple[int, str], bool] = {}
    for schedule, patient in queries.active_schedules(db, schedule_ids, clinic_id):
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
    have = queries.due_times(db, schedule.id)
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
    row = queries.get_invitation(db, patient_id, invitation_id)
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
    inv = queries.invitation_by_hash(db, token_hash(secret, token))
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
    if not queries.mark_used(db, inv.id, now):
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
        for inv, p in queries.overdue_rows(db, clinic_id, now, days)
    ]


def overdue_for(db: Session, actor: Actor, now: datetime, days: int = 90) -> list[OverdueRow]:
    """:func:`overdue` of the actor's clinic (``days`` clamped to 1..3650), audited as a list."""
    assert actor.user is not None
    rows = overdue(db, actor.user.clinic_id, now, max(1, min(days, 3650)))
    record(db, actor, "list", "overdue", patients=[r.patient_id for r in rows])
    return rows
