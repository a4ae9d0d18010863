"""Consent: versioned templates per clinic, and signed consent documents that are never edited.

A patient's signature makes a :class:`ConsentDocument` (the PDF and its SHA-256); a
countersignature, where the template asks for one, makes a new document that supersedes it
(``supersedes_id``); a revocation is a new document of kind ``revoked``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, utcnow


class ConsentTemplate(Base):
    """One version of a clinic's consent text (``key``: e.g. ``esketamine``, ``iv-ketamine``)."""

    __tablename__ = "consent_template"
    __table_args__ = (
        UniqueConstraint("clinic_id", "key", "version", name="key_version"),
        CheckConstraint("version >= 1", name="version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    attestation: Mapped[str] = mapped_column(String(500))
    #: Session routes this consent covers (comma list of iv, im, esketamine; empty: none).
    routes: Mapped[str] = mapped_column(String(64), default="")
    countersign: Mapped[bool] = mapped_column(default=False)
    #: ``consent`` (the consent page and session gate) or ``rems-enrolment`` (the SPRAVATO
    #: REMS Patient Enrollment Form, signed by patient and prescriber; features/rems).
    document_kind: Mapped[str] = mapped_column(
        String(32), default="consent", server_default="consent"
    )
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ConsentDocument(Base):
    """A signed (or revoked) consent as stored: the PDF and its SHA-256, never edited."""

    __tablename__ = "consent_document"
    __table_args__ = (
        CheckConstraint("kind IN ('signed', 'countersigned', 'revoked')", name="kind"),
        Index("ix_consent_document_patient", "patient_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    template_id: Mapped[int] = mapped_column(ForeignKey("consent_template.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    #: The document this one completes or revokes (countersigned, revoked).
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("consent_document.id", ondelete="CASCADE"), default=None, unique=True
    )
    patient_typed_name: Mapped[str] = mapped_column(String(200), default="")
    patient_signature_png: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    signer_name: Mapped[str] = mapped_column(String(200), default="")
    signer_role: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    recorded_by: Mapped[str] = mapped_column(String(320), default="")
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
