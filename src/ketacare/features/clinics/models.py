"""Clinics: the tenancy unit. Every user and every record belongs to exactly one clinic."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, utcnow


class Clinic(Base):
    """A clinic (tenant)."""

    __tablename__ = "clinic"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: IANA zone the clinic works in (pages, PDFs, CSV, calendars); None: KETACARE_TIMEZONE.
    timezone: Mapped[str | None] = mapped_column(String(64), default=None)
