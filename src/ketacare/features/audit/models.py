"""The audit log: append-only, hash-chained events, and the chain head.

Each event stores ``seq`` (1, 2, 3, ... with no gaps), the previous event's hash and its own
HMAC (under the audit key, kept outside the database) over its fields and that previous hash;
``ketacare audit verify`` detects what docs/architecture.md "Audit log" lists. No code path
updates or deletes an event.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, utcnow

GENESIS_HASH = "0" * 64


class AuditEvent(Base):
    """Who did what to which patient's data, when, from where, with what outcome."""

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_clinic_at", "clinic_id", "at"),
        Index("ix_audit_event_patient", "patient_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(unique=True)
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
    #: Every patient a list or search disclosed, as ",1,2,3," (empty for single-patient events).
    patients: Mapped[str] = mapped_column(Text, default="")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """The single row holding the chain's last sequence number and hash (locked to append)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH)
    #: The first event chained with the audit key (HMAC); earlier ones are plain SHA-256.
    keyed_from: Mapped[int] = mapped_column(default=1)
