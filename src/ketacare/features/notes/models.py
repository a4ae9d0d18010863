"""Clinical notes and the clinic's own note templates.

A note is a draft its author may edit, then signed: from then on the row never changes (the
service refuses, and triggers of migration 0019 refuse an UPDATE or DELETE of a signed row on
SQLite and PostgreSQL). A correction is an addendum: a new note whose ``addendum_of_id`` names
the signed note, itself draft then signed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, utcnow


class NoteTemplateVersion(Base):
    """A clinic's version of a note template (the shipped defaults are not stored)."""

    __tablename__ = "note_template"
    __table_args__ = (
        UniqueConstraint("clinic_id", "key", "version", name="uq_note_template_version"),
        CheckConstraint("version >= 1", name="version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    key: Mapped[str] = mapped_column(String(64))
    version: Mapped[int]
    kind: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(200))
    #: The template as JSON (``ketacare.domain.notes.templates.NoteTemplate.as_dict``).
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ClinicalNote(Base):
    """One note: its sections as written, its state and, once signed, who, when and the hash."""

    __tablename__ = "clinical_note"
    __table_args__ = (
        CheckConstraint("status IN ('draft', 'signed')", name="status"),
        CheckConstraint(
            "kind IN ('psychiatric_evaluation', 'progress', 'nursing')",
            name="kind",
        ),
        CheckConstraint(
            "status = 'draft' OR (signed_at IS NOT NULL AND length(content_hash) = 64)",
            name="signed",
        ),
        Index("ix_clinical_note_patient", "patient_id", "status", "signed_at"),
        Index("ix_clinical_note_session", "session_id"),
        Index("ix_clinical_note_addendum_of", "addendum_of_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_session.id", ondelete="RESTRICT"), default=None
    )
    addendum_of_id: Mapped[int | None] = mapped_column(ForeignKey("clinical_note.id"), default=None)
    kind: Mapped[str] = mapped_column(String(32))
    template_key: Mapped[str] = mapped_column(String(64))
    template_version: Mapped[int]
    title: Mapped[str] = mapped_column(String(200))
    #: ``[{"id", "title", "hint", "text"}]`` in template order.
    sections: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default="draft")
    #: Bumped by every saved edit: a save or signature of an older version is refused (409).
    version: Mapped[int] = mapped_column(default=1)
    author_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="RESTRICT"))
    author_email: Mapped[str] = mapped_column(String(320))
    author_role: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    #: The signed Markdown document (``domain.notes.compose.document``) and its SHA-256.
    document: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64), default="")
