"""The patient record, with its allergies and current medicines."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Date, Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ketacare.db.base import Base, UTCDateTime, utcnow
from ketacare.features.clinics.models import Clinic


class Sex(enum.StrEnum):
    """Sex recorded at intake (as used by dosing and analytics breakdowns)."""

    female = "female"
    male = "male"
    other = "other"
    unknown = "unknown"


def format_address(line: str, city: str, state: str, postal_code: str) -> str:
    """``line, city, ST 12345`` leaving out what is missing."""
    region = " ".join(p for p in (state, postal_code) if p)
    return ", ".join(p for p in (line, city, region) if p)


class Patient(Base):
    """A person treated (or evaluated) by one clinic."""

    __tablename__ = "patient"
    __table_args__ = (
        UniqueConstraint("clinic_id", "mrn", name="uq_patient_clinic_mrn"),
        Index("ix_patient_clinic_name", "clinic_id", "family_name", "given_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    mrn: Mapped[str | None] = mapped_column(String(64), default=None)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    birth_date: Mapped[date | None] = mapped_column(Date, default=None)
    sex: Mapped[Sex] = mapped_column(Enum(Sex, native_enum=False, length=16), default=Sex.unknown)
    email: Mapped[str] = mapped_column(String(320), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    #: Postal address (optional; the controlled-substance log names it, 21 CFR 1304.22(c)).
    address_line: Mapped[str] = mapped_column(String(200), default="", server_default="")
    city: Mapped[str] = mapped_column(String(100), default="", server_default="")
    state: Mapped[str] = mapped_column(String(2), default="", server_default="")
    postal_code: Mapped[str] = mapped_column(String(10), default="", server_default="")
    synthetic: Mapped[bool] = mapped_column(default=False)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    clinic: Mapped[Clinic] = relationship(lazy="raise")

    @property
    def display_name(self) -> str:
        """Family name, given name."""
        return f"{self.family_name}, {self.given_name}"

    @property
    def address(self) -> str:
        """The address on one line ("" when none is recorded)."""
        return format_address(self.address_line, self.city, self.state, self.postal_code)

    def age_on(self, day: date) -> int | None:
        """Age in whole years on ``day`` (None without a birth date)."""
        if self.birth_date is None:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))


class AllergySeverity(enum.StrEnum):
    """How bad the reaction was (as reported; ``unknown`` when not known)."""

    mild = "mild"
    moderate = "moderate"
    severe = "severe"
    unknown = "unknown"


class PatientAllergy(Base):
    """An allergy or intolerance on the record. Removing one keeps the row (``removed_at``),
    so the chart's history and the audit log agree."""

    __tablename__ = "patient_allergy"
    __table_args__ = (Index("ix_patient_allergy_patient", "patient_id", "removed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    substance: Mapped[str] = mapped_column(String(120))
    reaction: Mapped[str] = mapped_column(String(200), default="")
    severity: Mapped[AllergySeverity] = mapped_column(
        Enum(AllergySeverity, native_enum=False, length=16), default=AllergySeverity.unknown
    )
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    removed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )


class PatientMedication(Base):
    """A medicine the patient takes now (name, dose and how often as free text, since when).
    Stopping one keeps the row (``removed_at``)."""

    __tablename__ = "patient_medication"
    __table_args__ = (Index("ix_patient_medication_patient", "patient_id", "removed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    dose: Mapped[str] = mapped_column(String(120), default="")
    started_on: Mapped[date | None] = mapped_column(Date, default=None)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    removed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
