"""External identifiers of imported records, and recorded diagnoses (FHIR Condition)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, utcnow


class ExternalRef(Base):
    """A source resource's stable identifier and the ketacare row it became.

    One row per imported resource (``resource``: patient, assessment, diagnosis), unique per
    clinic and (system, value), so importing the same bundle again adds nothing.
    """

    __tablename__ = "fhir_external_ref"
    __table_args__ = (
        UniqueConstraint("clinic_id", "system", "value", name="uq_fhir_external_ref_key"),
        Index("ix_fhir_external_ref_local", "resource", "local_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    system: Mapped[str] = mapped_column(String(255))
    value: Mapped[str] = mapped_column(String(255))
    resource: Mapped[str] = mapped_column(String(32))
    local_id: Mapped[int]
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient.id", ondelete="CASCADE"), default=None
    )
    source: Mapped[str] = mapped_column(String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Diagnosis(Base):
    """A diagnosis as recorded (SNOMED CT and/or ICD-10-CM), exported as a Condition."""

    __tablename__ = "diagnosis"
    __table_args__ = (Index("ix_diagnosis_patient", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    text: Mapped[str] = mapped_column(String(200))
    snomed_code: Mapped[str | None] = mapped_column(String(32), default=None)
    snomed_display: Mapped[str | None] = mapped_column(String(200), default=None)
    icd10_code: Mapped[str | None] = mapped_column(String(16), default=None)
    icd10_display: Mapped[str | None] = mapped_column(String(200), default=None)
    clinical_status: Mapped[str] = mapped_column(String(16), default="active")
    onset: Mapped[date | None] = mapped_column(Date, default=None)
    source: Mapped[str] = mapped_column(String(16), default="entered")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
