"""Fixed-window rate-limit counters, kept in the database so that workers share them."""

from __future__ import annotations

from sqlalchemy import BigInteger, String
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base


class RateCounter(Base):
    """Hits for one key (an HMAC of the client address and purpose) in one window."""

    __tablename__ = "rate_counter"

    key: Mapped[str] = mapped_column(String(96), primary_key=True)
    window_start: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
