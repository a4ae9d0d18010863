"""Scheduling tables: sites, chairs, closures, staff shifts, bookings, waitlist, reminders,
calendar feeds.

No double booking: on PostgreSQL two exclusion constraints (``btree_gist``) refuse a booking
whose ``[starts_at, ends_at)`` overlaps another holding booking of the same chair or the same
patient; on SQLite two triggers raise in the same transaction (every write transaction holds
the database's write lock from ``BEGIN IMMEDIATE``). Both are created by migration 0013
(``DDL`` below creates them for ``create_all`` too).
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    event,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, utcnow
from ketacare.domain.course.booking import Kind, StaffRole


def _enum(cls: type[enum.StrEnum]) -> Enum:
    return Enum(cls, native_enum=False, length=16, values_callable=lambda e: [m.value for m in e])


class Site(Base):
    """A treatment site of a clinic: opening hours per weekday (local wall clock)."""

    __tablename__ = "sched_site"
    __table_args__ = (UniqueConstraint("clinic_id", "name", name="uq_sched_site_clinic_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))
    #: {"0": ["08:00", "18:00"], ...}: weekday (0 = Monday) -> opening and closing time.
    hours: Mapped[dict[str, Any]] = mapped_column(JSON)
    rems_certified: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Chair(Base):
    """A treatment chair or room at a site."""

    __tablename__ = "sched_chair"
    __table_args__ = (UniqueConstraint("site_id", "name", name="uq_sched_chair_site_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sched_site.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(default=True)


class Closure(Base):
    """A day a site is closed (local date)."""

    __tablename__ = "sched_closure"
    __table_args__ = (UniqueConstraint("site_id", "day", name="uq_sched_closure_site_day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sched_site.id", ondelete="RESTRICT"))
    day: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200), default="")


class StaffShift(Base):
    """A staff member on site from ``starts_at`` to ``ends_at`` in a floor role."""

    __tablename__ = "sched_shift"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="order"),
        Index("ix_sched_shift_site_start", "site_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sched_site.id", ondelete="RESTRICT"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
    staff_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[StaffRole] = mapped_column(_enum(StaffRole))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BookingStatus(enum.StrEnum):
    """A booking's state; ``booked``, ``checked_in`` and ``attended`` hold the chair."""

    booked = "booked"
    checked_in = "checked_in"
    attended = "attended"
    cancelled = "cancelled"
    no_show = "no_show"


HOLDING = (BookingStatus.booked, BookingStatus.checked_in, BookingStatus.attended)


class Booking(Base):
    """A patient in a chair from ``starts_at`` to ``ends_at`` (the whole chair time)."""

    __tablename__ = "sched_booking"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="order"),
        Index("ix_sched_booking_site_start", "site_id", "starts_at"),
        Index("ix_sched_booking_patient_start", "patient_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sched_site.id", ondelete="RESTRICT"))
    chair_id: Mapped[int] = mapped_column(ForeignKey("sched_chair.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    plan_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_plan.id", ondelete="RESTRICT"), default=None
    )
    planned_session_id: Mapped[int | None] = mapped_column(
        ForeignKey("planned_session.id", ondelete="RESTRICT"), default=None
    )
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_session.id", ondelete="RESTRICT"), default=None
    )
    kind: Mapped[Kind] = mapped_column(_enum(Kind))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[BookingStatus] = mapped_column(
        _enum(BookingStatus), default=BookingStatus.booked
    )
    #: True while the booking holds its chair and patient time (the constraints' filter).
    holds: Mapped[bool] = mapped_column(default=True)
    reason: Mapped[str] = mapped_column(String(500), default="")
    #: HMAC of the patient's confirmation link token (the token itself is never stored).
    confirm_token_hash: Mapped[str | None] = mapped_column(String(64), default=None, unique=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    reschedule_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    instructions_ack_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_by_email: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WaitStatus(enum.StrEnum):
    """A waitlist entry's state."""

    waiting = "waiting"
    offered = "offered"
    booked = "booked"
    closed = "closed"


class WaitlistEntry(Base):
    """A patient who wants an earlier or any slot at a site between two local dates."""

    __tablename__ = "sched_waitlist"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sched_site.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    kind: Mapped[Kind] = mapped_column(_enum(Kind))
    earliest: Mapped[date] = mapped_column(Date)
    latest: Mapped[date] = mapped_column(Date)
    status: Mapped[WaitStatus] = mapped_column(_enum(WaitStatus), default=WaitStatus.waiting)
    offered_chair_id: Mapped[int | None] = mapped_column(
        ForeignKey("sched_chair.id", ondelete="RESTRICT"), default=None
    )
    offered_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ReminderStatus(enum.StrEnum):
    """A reminder's delivery state."""

    pending = "pending"
    sent = "sent"
    failed = "failed"
    cancelled = "cancelled"


class Reminder(Base):
    """One reminder of one booking over one channel, due at ``due_at`` (moved on by a retry).

    Sent at most once by the claim of the job (row lock), not by a unique key: a booking
    moved twice plans the same offsets again."""

    __tablename__ = "sched_reminder"
    __table_args__ = (Index("ix_sched_reminder_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    booking_id: Mapped[int] = mapped_column(ForeignKey("sched_booking.id", ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[ReminderStatus] = mapped_column(
        _enum(ReminderStatus), default=ReminderStatus.pending
    )
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(String(200), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class CalendarFeed(Base):
    """A private ICS feed of a clinician's or a site's bookings (token stored as HMAC)."""

    __tablename__ = "sched_feed"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="RESTRICT"), default=None
    )
    site_id: Mapped[int | None] = mapped_column(
        ForeignKey("sched_site.id", ondelete="RESTRICT"), default=None
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


# The database-level no-double-booking guard (migration 0013 creates the same objects).
PG_GUARD = (
    "CREATE EXTENSION IF NOT EXISTS btree_gist",
    "ALTER TABLE sched_booking ADD CONSTRAINT ex_sched_booking_chair EXCLUDE USING gist "
    "(chair_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (holds)",
    "ALTER TABLE sched_booking ADD CONSTRAINT ex_sched_booking_patient EXCLUDE USING gist "
    "(patient_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) WHERE (holds)",
)
_SQLITE_CHECK = (
    "WHEN NEW.holds AND EXISTS (SELECT 1 FROM sched_booking b WHERE b.holds "
    "AND b.id IS NOT NEW.id AND (b.{col} = NEW.{col}) "
    "AND b.starts_at < NEW.ends_at AND NEW.starts_at < b.ends_at) "
    "BEGIN SELECT RAISE(ABORT, 'sched_booking overlap: {col}'); END"
)
SQLITE_GUARD = tuple(
    f"CREATE TRIGGER IF NOT EXISTS tr_sched_booking_{col}_{op} BEFORE "
    f"{'INSERT' if op == 'ins' else 'UPDATE'} ON sched_booking FOR EACH ROW "
    + _SQLITE_CHECK.format(col=col)
    for col in ("chair_id", "patient_id")
    for op in ("ins", "upd")
)


def install_guard(conn: Any, dialect: str) -> None:
    """Create the overlap guard on ``conn`` (``conn.exec_driver_sql``) for ``dialect``."""
    for statement in PG_GUARD if dialect == "postgresql" else SQLITE_GUARD:
        conn.exec_driver_sql(statement)


# ``create_all`` (tests of other features, fresh databases without Alembic) gets it too.
def _after_create(
    target: Any,  # noqa: ARG001
    connection: Any,
    **_: Any,
) -> None:
    install_guard(connection, connection.dialect.name)


event.listen(Booking.__table__, "after_create", _after_create)
