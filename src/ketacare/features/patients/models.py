"""The patient record."""

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

    def age_on(self, day: date) -> int | None:
        """Age in whole years on ``day`` (None without a birth date)."""
        if self.birth_date is None:
            return None
        b = self.birth_date
        return day.year - b.year - ((day.month, day.day) < (b.month, b.day))
