"""Anonymous self-screenings and consultation requests (leads)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ketacare.db.base import Base, UTCDateTime, utcnow
from ketacare.features.clinics.models import Clinic


class Screening(Base):
    """One anonymous PHQ-9/GAD-7 self-screen. Stores answers and scores, no identifiers."""

    __tablename__ = "screening"
    __table_args__ = (Index("ix_screening_clinic_created", "clinic_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    phq9_answers: Mapped[list[int] | None] = mapped_column(JSON, default=None)
    phq9_difficulty: Mapped[int | None] = mapped_column(default=None)
    phq9_total: Mapped[int | None] = mapped_column(default=None)
    phq9_band: Mapped[str | None] = mapped_column(String(32), default=None)
    phq9_item9_positive: Mapped[bool | None] = mapped_column(default=None)
    phq9_mds: Mapped[bool | None] = mapped_column(default=None)
    gad7_answers: Mapped[list[int] | None] = mapped_column(JSON, default=None)
    gad7_total: Mapped[int | None] = mapped_column(default=None)
    gad7_band: Mapped[str | None] = mapped_column(String(32), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True, default=None)

    clinic: Mapped[Clinic] = relationship(lazy="raise")


class LeadStatus(enum.StrEnum):
    """Where a consultation request stands."""

    new = "new"
    contacted = "contacted"
    closed = "closed"


class Lead(Base):
    """A request for the clinic to get in touch, optionally linked to a screening."""

    __tablename__ = "lead"
    __table_args__ = (Index("ix_lead_clinic_created", "clinic_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    screening_id: Mapped[str | None] = mapped_column(
        ForeignKey("screening.id", ondelete="SET NULL"), default=None
    )
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    preferred_time: Mapped[str] = mapped_column(String(200), default="")
    consent: Mapped[bool] = mapped_column(default=False)
    status: Mapped[LeadStatus] = mapped_column(
        Enum(LeadStatus, native_enum=False, length=16), default=LeadStatus.new
    )
    #: The last note of the old single-note field; notes are now ``LeadNote`` rows (0011 copied
    #: each non-empty note into ``lead_note``). Nothing writes it any more.
    note: Mapped[str] = mapped_column(Text, default="")
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The patient this request became ("convert to patient"); set once.
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient.id", ondelete="SET NULL"), default=None, index=True
    )
    converted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: When the patient agreed that the linked self-screen joins their record (None: not given).
    screening_consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)

    clinic: Mapped[Clinic] = relationship(lazy="raise")
    screening: Mapped[Screening | None] = relationship(lazy="raise")


class LeadNote(Base):
    """One entry of a consultation request's contact history (append-only: never updated)."""

    __tablename__ = "lead_note"
    __table_args__ = (Index("ix_lead_note_lead_created", "lead_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("lead.id", ondelete="CASCADE"))
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
    author_email: Mapped[str] = mapped_column(String(320), default="")
    #: What happened (the status set with the note, if any) and the note itself.
    status: Mapped[str] = mapped_column(String(16), default="")
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
