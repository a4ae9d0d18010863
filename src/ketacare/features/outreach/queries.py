"""Every statement of outreach's schedules and links (plain functions; routes import no
SQLAlchemy), and the claim of due rows for :mod:`ketacare.features.outreach.jobs`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import TypeVar

from sqlalchemy import Select, bindparam, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ketacare.features._kit.links import spend_once
from ketacare.features.clinics.models import Clinic
from ketacare.features.intake.models import PlannedSession, PlanStatus, TreatmentPlan
from ketacare.features.outreach.models import Invitation, Schedule
from ketacare.features.patients.models import Patient

T = TypeVar("T")


def get_schedule(db: Session, patient_id: int, schedule_id: int) -> Schedule | None:
    """A schedule of this patient, or None."""
    return db.execute(
        select(Schedule).where(Schedule.id == schedule_id, Schedule.patient_id == patient_id)
    ).scalar_one_or_none()


def list_schedules(db: Session, patient_id: int) -> list[Schedule]:
    """The patient's schedules, active first."""
    stmt = select(Schedule).where(Schedule.patient_id == patient_id)
    return list(db.execute(stmt.order_by(Schedule.active.desc(), Schedule.id)).scalars())


def expire_open_links(db: Session, schedule_id: int, now: datetime) -> None:
    """End the unanswered, unexpired links of a schedule at ``now``."""
    db.execute(
        update(Invitation)
        .where(
            Invitation.schedule_id == schedule_id,
            Invitation.used_at.is_(None),
            Invitation.expires_at > now,
        )
        .values(expires_at=now)
    )


def active_schedules(
    db: Session, schedule_ids: Sequence[int] | None, clinic_id: int | None
) -> list[tuple[Schedule, Patient]]:
    """Active schedules (optionally these ids, or one clinic's) with their patient, by id."""
    stmt = select(Schedule, Patient).join(Patient, Patient.id == Schedule.patient_id)
    stmt = stmt.where(Schedule.active.is_(True))
    if schedule_ids is not None:
        stmt = stmt.where(Schedule.id.in_(list(schedule_ids)))
    if clinic_id is not None:
        stmt = stmt.where(Schedule.clinic_id == clinic_id)
    return [(s, p) for s, p in db.execute(stmt.order_by(Schedule.id)).all()]


def due_times(db: Session, schedule_id: int) -> set[datetime]:
    """The due times that already have a link for this schedule."""
    stmt = select(Invitation.due_at).where(Invitation.schedule_id == schedule_id)
    return set(db.execute(stmt).scalars())


def insert_invitation(db: Session, values: dict[str, object]) -> int | None:
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


def get_invitation(db: Session, patient_id: int, invitation_id: int) -> Invitation | None:
    """A link of this patient, or None."""
    return db.execute(
        select(Invitation).where(
            Invitation.id == invitation_id, Invitation.patient_id == patient_id
        )
    ).scalar_one_or_none()


def invitation_by_hash(db: Session, hashed: str) -> Invitation | None:
    """The invitation whose token has this HMAC, or None."""
    stmt = select(Invitation).where(Invitation.token_hash == hashed)
    return db.execute(stmt).scalar_one_or_none()


def mark_used(db: Session, invitation_id: int, now: datetime) -> bool:
    """Mark an open link used with a conditional UPDATE; False if it was used or expired."""
    return spend_once(db, Invitation, invitation_id, now)


def record_delivery(
    db: Session, invitation_id: int, delivery: str, sent_at: datetime | None
) -> None:
    """Store how a link went out (``sent``, ``logged`` or ``failed``)."""
    db.execute(
        update(Invitation)
        .where(Invitation.id == invitation_id)
        .values(delivery=delivery, sent_at=sent_at)
    )


def overdue_rows(
    db: Session, clinic_id: int, now: datetime, days: int
) -> list[tuple[Invitation, Patient]]:
    """Due, unanswered links of the clinic in the last ``days`` (links of stopped schedules
    are no longer expected), oldest first, with their patient."""
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
    return [(inv, p) for inv, p in db.execute(stmt).all()]


def pending_links(db: Session, patient_id: int) -> list[Invitation]:
    """The patient's links, newest due first."""
    stmt = select(Invitation).where(Invitation.patient_id == patient_id)
    return list(db.execute(stmt.order_by(Invitation.due_at.desc()).limit(200)).scalars())


def open_links(db: Session, patient_id: int, now: datetime) -> list[Invitation]:
    """The patient's links that are due, unanswered and not expired at ``now``, by due time."""
    stmt = (
        select(Invitation)
        .where(
            Invitation.patient_id == patient_id,
            Invitation.used_at.is_(None),
            Invitation.due_at <= now,
            Invitation.expires_at > now,
        )
        .order_by(Invitation.due_at)
    )
    return list(db.execute(stmt).scalars())


# Built once: the trajectory chart (a busy page) reads it on every view.
_PLANNED_DAYS = (
    select(PlannedSession.day)
    .join(TreatmentPlan, TreatmentPlan.id == PlannedSession.plan_id)
    .where(
        TreatmentPlan.patient_id == bindparam("patient_id"),
        TreatmentPlan.status == PlanStatus.active,
    )
    .order_by(PlannedSession.day, PlannedSession.number)
)


def planned_sessions(db: Session, patient_id: int) -> list[datetime]:
    """Start (00:00 UTC of the day) of each session of the patient's active treatment plan
    (``features/intake``), in order: a planned session has a day, not a time. The "before each
    treatment session" recurrence counts from these; the trajectory chart marks them."""
    days = db.execute(_PLANNED_DAYS, {"patient_id": patient_id}).scalars()
    return [datetime.combine(d, time(0, 0), tzinfo=UTC) for d in days]


def claim_due(db: Session, stmt: Select[T], limit: int) -> list[T]:
    """Lock and return up to ``limit`` rows of ``stmt`` that no other runner holds:
    ``SELECT ... FOR UPDATE SKIP LOCKED`` on PostgreSQL (SQLite's ``BEGIN IMMEDIATE``
    serialises runners instead). The rows stay locked until the transaction ends."""
    return list(db.scalars(stmt.limit(limit).with_for_update(skip_locked=True)))


def clinic_ids(db: Session) -> list[int]:
    """Every clinic's id, in order (the periodic job works one clinic at a time)."""
    return list(db.execute(select(Clinic.id).order_by(Clinic.id)).scalars())
