"""The audit_event table: written only by ``audit.service.record``; never updated or deleted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, utcnow


class AuditEvent(Base):
    """Who did what to which patient's data, when, from where, with what outcome."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_clinic_at", "clinic_id", "at"),
        Index("ix_audit_event_patient", "patient_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    clinic_id: Mapped[int | None] = mapped_column(ForeignKey("clinic.id"), default=None)
    actor_id: Mapped[int | None] = mapped_column(default=None)
    actor_email: Mapped[str] = mapped_column(String(320), default="")
    action: Mapped[str] = mapped_column(String(64))
    resource: Mapped[str] = mapped_column(String(64))
    resource_id: Mapped[str] = mapped_column(String(64), default="")
    patient_id: Mapped[int | None] = mapped_column(default=None)
    outcome: Mapped[str] = mapped_column(String(32), default="ok")
    channel: Mapped[str] = mapped_column(String(16), default="page")
    client: Mapped[str] = mapped_column(String(64), default="")
