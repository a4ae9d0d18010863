"""Clinics: the tenancy unit. Every user and every record belongs to exactly one clinic."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, Text
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
    #: Text shown to patients on how to reach the clinic (admin settings page).
    contact_text: Mapped[str] = mapped_column(Text(), default="", server_default="")
    #: Alert rule ids switched off for this clinic, comma-separated (``clinics.service``).
    alert_disabled: Mapped[str] = mapped_column(String(500), default="", server_default="")
    #: MCID overrides of the ``worsening.mcid`` alert, instrument id -> points; None: defaults.
    alert_mcid: Mapped[dict[str, Any] | None] = mapped_column(JSON(), default=None)
