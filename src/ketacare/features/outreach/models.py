"""Assessment schedules and their one-time links (invitations).

The tables keep the names they had in ``features/assessments`` (``assessment_schedule``,
``assessment_invitation``); an invitation points at the assessment its answers became
(``assessment.id``) by table name, so this module imports nothing of ``assessments``.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, utcnow


class Recurrence(enum.StrEnum):
    """When a schedule's assessments fall due."""

    once = "once"
    before_session = "before_session"
    weekly = "weekly"
    every_n_weeks = "every_n_weeks"


class Schedule(Base):
    """A clinician's plan to ask a patient for an instrument on a recurrence."""

    __tablename__ = "assessment_schedule"
    __table_args__ = (Index("ix_assessment_schedule_patient", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    instrument_id: Mapped[str] = mapped_column(String(32))
    recurrence: Mapped[Recurrence] = mapped_column(Enum(Recurrence, native_enum=False, length=16))
    interval_weeks: Mapped[int] = mapped_column(default=1)
    start_date: Mapped[date] = mapped_column(Date)
    until_date: Mapped[date | None] = mapped_column(Date, default=None)
    active: Mapped[bool] = mapped_column(default=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Invitation(Base):
    """A one-time link for one due assessment; only an HMAC-SHA256 of the token is stored."""

    __tablename__ = "assessment_invitation"
    __table_args__ = (
        UniqueConstraint("schedule_id", "due_at", name="uq_assessment_invitation_schedule_due"),
        Index("ix_assessment_invitation_clinic_due", "clinic_id", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    schedule_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessment_schedule.id", ondelete="SET NULL"), default=None
    )
    instrument_id: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    delivery: Mapped[str] = mapped_column(String(16), default="pending")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("assessment.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
