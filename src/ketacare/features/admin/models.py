"""E-mailed staff password reset links; only an HMAC-SHA256 of each token is stored."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, user_fk, utcnow


class PasswordReset(Base):
    """A single-use, short-lived link that sets a staff account's password.

    ``sent_by_id`` is the admin who sent it from the users page (None when the staff member
    asked on the login page).
    """

    __tablename__ = "password_reset"
    __table_args__ = (Index("ix_password_reset_user", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    sent_by_id: Mapped[int | None] = user_fk()
