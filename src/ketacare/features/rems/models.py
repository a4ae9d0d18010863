"""REMS operations: the setting registry, patient enrolment (append-only), prescriber-on-site
attestations, the cover recorded when an esketamine session opens, and PMF submissions."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    LargeBinary,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, utcnow


class RemsSetting(Base):
    """The clinic's healthcare setting as registered with the SPRAVATO REMS (one per clinic)."""

    __tablename__ = "rems_setting"
    __table_args__ = (
        CheckConstraint("setting_type IN ('outpatient', 'inpatient')", name="type"),
        CheckConstraint(
            "acquisition_route IN ('', 'pharmacy', 'distributor')",
            name="acquisition",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(
        ForeignKey("clinic.id", ondelete="RESTRICT"), unique=True
    )
    name: Mapped[str] = mapped_column(String(200), default="")
    address: Mapped[str] = mapped_column(String(500), default="")
    setting_type: Mapped[str] = mapped_column(String(16), default="outpatient")
    certified: Mapped[bool] = mapped_column(default=False)
    certified_on: Mapped[date | None] = mapped_column(Date, default=None)
    certification_id: Mapped[str] = mapped_column(String(64), default="")
    authorised_representative: Mapped[str] = mapped_column(String(200), default="")
    acquisition_route: Mapped[str] = mapped_column(String(16), default="")
    pulse_oximeter: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by: Mapped[str] = mapped_column(String(320), default="")


class RemsEnrolment(Base):
    """One enrolment record of a patient; a withdrawal is a new record (``kind``), never an edit.

    The newest record of a patient is the patient's status.
    """

    __tablename__ = "rems_enrolment"
    __table_args__ = (
        CheckConstraint("kind IN ('enrolled', 'withdrawn')", name="kind"),
        Index("ix_rems_enrolment_patient", "patient_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16), default="enrolled")
    enrolled_on: Mapped[date | None] = mapped_column(Date, default=None)
    patient_signed: Mapped[bool] = mapped_column(default=False)
    prescriber_signed: Mapped[bool] = mapped_column(default=False)
    prescriber_name: Mapped[str] = mapped_column(String(200), default="")
    rems_patient_id: Mapped[str] = mapped_column(String(64), default="")
    note: Mapped[str] = mapped_column(String(500), default="")
    #: The countersigned Patient Enrollment Form (a ``consent_document`` of a template of kind
    #: ``rems-enrolment``) this enrolment was made from; None for a record entered by hand.
    document_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent_document.id", ondelete="RESTRICT"), default=None
    )
    recorded_by: Mapped[str] = mapped_column(String(320), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PrescriberAttestation(Base):
    """Staff attest that a named prescriber is on site from ``starts_at`` to ``ends_at``."""

    __tablename__ = "rems_attestation"
    __table_args__ = (
        CheckConstraint("ends_at > starts_at", name="span"),
        Index("ix_rems_attestation_clinic", "clinic_id", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    prescriber_name: Mapped[str] = mapped_column(String(200))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attested_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RemsSessionCover(Base):
    """Who was the prescriber on site (and which setting) when an esketamine session opened."""

    __tablename__ = "rems_session_cover"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    session_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_session.id", ondelete="CASCADE"), unique=True
    )
    attestation_id: Mapped[int | None] = mapped_column(
        ForeignKey("rems_attestation.id", ondelete="RESTRICT"), default=None
    )
    prescriber_name: Mapped[str] = mapped_column(String(200), default="")
    setting_name: Mapped[str] = mapped_column(String(200), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PmfSubmission(Base):
    """The PMF of one session as submitted: who, when, channel, confirmation, the PDF and its
    SHA-256 (one submission per session; the database refuses a second)."""

    __tablename__ = "rems_pmf_submission"
    __table_args__ = (
        CheckConstraint("channel IN ('portal', 'fax')", name="channel"),
        Index("ix_rems_pmf_submission_clinic", "clinic_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    session_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_session.id", ondelete="RESTRICT"), unique=True
    )
    revision: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    confirmation: Mapped[str] = mapped_column(String(100))
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    submitted_by: Mapped[str] = mapped_column(String(320))
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime())
