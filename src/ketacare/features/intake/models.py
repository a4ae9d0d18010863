"""Stored intake records (every version kept) and treatment plans with their sessions."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, utcnow


class IntakeRecord(Base):
    """One saved version of a patient's intake; the highest ``version`` is current.

    ``document`` is the intake JSON (``docs/intake.md`` §5), validated by
    ``ketacare.domain.intake.json_file`` before it is stored. Rows are never updated: a correction
    is a new version. The typed columns copy the facts other features query.
    """

    __tablename__ = "intake_record"
    __table_args__ = (UniqueConstraint("patient_id", "version", name="uq_intake_record_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    version: Mapped[int]
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    assessed_on: Mapped[date | None] = mapped_column(Date, default=None)
    age_years: Mapped[int | None] = mapped_column(default=None)
    weight_kg: Mapped[float | None] = mapped_column(default=None)
    comment: Mapped[str] = mapped_column(String(500), default="")
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
    created_by_email: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlanStatus(enum.StrEnum):
    """A patient has at most one active plan; a new plan supersedes the previous one."""

    active = "active"
    superseded = "superseded"


class TreatmentPlan(Base):
    """A planned course: protocol (id and version), start, allowed weekdays, who and when."""

    __tablename__ = "treatment_plan"
    __table_args__ = (
        Index("ix_treatment_plan_patient_status", "patient_id", "status"),
        # One active plan per patient, also under concurrent requests (issue 15.4).
        Index(
            "uq_treatment_plan_one_active",
            "patient_id",
            unique=True,
            postgresql_where=text("status = 'active'"),
            sqlite_where=text("status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    intake_id: Mapped[int] = mapped_column(ForeignKey("intake_record.id", ondelete="RESTRICT"))
    protocol_id: Mapped[str] = mapped_column(String(64))
    protocol_version: Mapped[str] = mapped_column(String(16))
    protocol_title: Mapped[str] = mapped_column(String(200), default="")
    drug: Mapped[str] = mapped_column(String(16))
    route: Mapped[str] = mapped_column(String(16))
    variant: Mapped[str | None] = mapped_column(String(64), default=None)
    start_date: Mapped[date] = mapped_column(Date)
    weekdays: Mapped[str] = mapped_column(String(32))
    weight_kg: Mapped[float | None] = mapped_column(default=None)
    age_years: Mapped[int | None] = mapped_column(default=None)
    status: Mapped[PlanStatus] = mapped_column(
        Enum(PlanStatus, native_enum=False, length=16), default=PlanStatus.active
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
    created_by_email: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PlannedSession(Base):
    """One planned session of a plan. Never changed or deleted, so its ``id`` is stable
    (session charting refers to it)."""

    __tablename__ = "planned_session"
    __table_args__ = (UniqueConstraint("plan_id", "number", name="uq_planned_session_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("treatment_plan.id", ondelete="RESTRICT"))
    number: Mapped[int]
    day: Mapped[date] = mapped_column(Date)
    phase: Mapped[str] = mapped_column(String(64))
    planned_dose_mg: Mapped[float | None] = mapped_column(default=None)
    dose_mg_per_kg: Mapped[float | None] = mapped_column(default=None)
    dose_label: Mapped[str] = mapped_column(String(100), default="")
    route: Mapped[str] = mapped_column(String(16))
    infusion_min: Mapped[float | None] = mapped_column(default=None)
