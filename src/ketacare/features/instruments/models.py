"""A clinic's licensed item text for the instruments whose text ketacare does not ship."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, utcnow


class InstrumentText(Base):
    """A clinic's licensed item text for one instrument whose text ketacare does not ship."""

    __tablename__ = "instrument_text"
    __table_args__ = (
        UniqueConstraint("clinic_id", "instrument_id", name="uq_instrument_text_clinic_instrument"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    instrument_id: Mapped[str] = mapped_column(String(32))
    texts: Mapped[dict[str, str]] = mapped_column(JSON)
    licence_note: Mapped[str] = mapped_column(Text)
    loaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("app_user.id", ondelete="SET NULL"), default=None
    )
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
