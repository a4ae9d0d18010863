"""E-mailed sign-in links of the patient portal; only an HMAC-SHA256 of each token is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, utcnow


class PortalLink(Base):
    """A single-use, short-lived sign-in link for one patient record.

    ``user_id`` is the patient's account when it existed at the request; else the account is
    created when the link is followed (and ``patient.user_id`` set).
    """

    __tablename__ = "portal_link"
    __table_args__ = (Index("ix_portal_link_patient", "patient_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), default=None
    )
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
