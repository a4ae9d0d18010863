"""Controlled-substance records (DEA Schedule III): registrations, receipts, containers, the
container ledger, draws, counts, discrepancy cases and inventories (docs/controlled-substances.md).

Quantities are integer micrograms (``*_ug``). Ledger events are append-only: triggers refuse
UPDATE and DELETE on ``cs_event`` (migration 0014); corrections are new events.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, user_fk, utcnow


class CsRegistration(Base):
    """A DEA registration of one site (21 CFR 1301.12: one per place of business)."""

    __tablename__ = "cs_registration"
    __table_args__ = (UniqueConstraint("clinic_id", "dea_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    site_name: Mapped[str] = mapped_column(String(200))
    dea_number: Mapped[str] = mapped_column(String(9))
    schedules: Mapped[str] = mapped_column(String(64), default="3,3N")
    address: Mapped[str] = mapped_column(Text, default="")
    registrant: Mapped[str] = mapped_column(String(200), default="")
    expires_on: Mapped[date] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_email: Mapped[str] = mapped_column(String(320), default="")


class CsReceipt(Base):
    """One receipt of stock (CIII: the supplier's invoice, no Form 222), 21 CFR 1304.22(c)."""

    __tablename__ = "cs_receipt"
    __table_args__ = (
        Index("ix_cs_receipt_registration", "registration_id", "received_at"),
        CheckConstraint("containers >= 1 AND containers <= 1000", name="containers"),
        CheckConstraint("container_ug > 0", name="container_ug"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("cs_registration.id", ondelete="RESTRICT")
    )
    invoice_number: Mapped[str] = mapped_column(String(64))
    supplier_name: Mapped[str] = mapped_column(String(200))
    supplier_address: Mapped[str] = mapped_column(Text)
    supplier_dea: Mapped[str] = mapped_column(String(9))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ndc: Mapped[str] = mapped_column(String(13))
    drug: Mapped[str] = mapped_column(String(16))  # ketamine | esketamine
    product: Mapped[str] = mapped_column(String(200))
    form: Mapped[str] = mapped_column(String(16))  # vial | device
    concentration_mg_ml: Mapped[float | None] = mapped_column(default=None)
    container_ug: Mapped[int] = mapped_column(BigInteger)
    container_ml: Mapped[float | None] = mapped_column(default=None)
    lot: Mapped[str] = mapped_column(String(64))
    expiry: Mapped[date] = mapped_column(Date)
    containers: Mapped[int] = mapped_column()
    receiver_id: Mapped[int | None] = user_fk()
    receiver_email: Mapped[str] = mapped_column(String(320))
    witness_id: Mapped[int | None] = user_fk()
    witness_email: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CsContainer(Base):
    """One vial or nasal-spray device with its running balance (updated under a row lock)."""

    __tablename__ = "cs_container"
    __table_args__ = (
        UniqueConstraint("label"),
        Index("ix_cs_container_open", "clinic_id", "status"),
        Index("ix_cs_container_registration", "registration_id", "status"),
        CheckConstraint("balance_ug >= 0", name="balance_nonnegative"),
        CheckConstraint("balance_ug <= full_ug", name="balance_max"),
        CheckConstraint("status IN ('open', 'quarantined', 'closed')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("cs_registration.id", ondelete="RESTRICT")
    )
    receipt_id: Mapped[int | None] = mapped_column(
        ForeignKey("cs_receipt.id", ondelete="RESTRICT"), default=None
    )
    label: Mapped[str] = mapped_column(String(32))
    drug: Mapped[str] = mapped_column(String(16))
    product: Mapped[str] = mapped_column(String(200))
    form: Mapped[str] = mapped_column(String(16))
    concentration_mg_ml: Mapped[float | None] = mapped_column(default=None)
    lot: Mapped[str] = mapped_column(String(64))
    expiry: Mapped[date] = mapped_column(Date)
    full_ug: Mapped[int] = mapped_column(BigInteger)
    balance_ug: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")
    #: Events so far; the next event gets ``seq + 1`` (unique per container).
    seq: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CsEvent(Base):
    """One ledger event (append-only). ``delta_ug`` is its effect on the container's balance;
    ``balance_ug`` the balance after it."""

    __tablename__ = "cs_event"
    __table_args__ = (
        UniqueConstraint("container_id", "seq"),
        UniqueConstraint("corrects_id"),
        Index("ix_cs_event_clinic_at", "clinic_id", "occurred_at"),
        #: The administration log's keyset order (migration 0022); on PostgreSQL it also
        #: covers the kind and the patient, so an export's patient list (audited before the
        #: stream starts) is an index-only scan.
        Index(
            "ix_cs_event_registration_at",
            "registration_id",
            "occurred_at",
            "id",
            postgresql_include=["kind", "patient_id"],
        ),
        Index("ix_cs_event_session", "session_id"),
        Index("ix_cs_event_draw", "draw_id"),
        CheckConstraint("qty_ug >= 0", name="qty_nonnegative"),
        CheckConstraint("balance_ug >= 0", name="balance_nonnegative"),
        CheckConstraint(
            "kind IN ('receive', 'draw', 'administer', 'waste', 'return', 'breakage', 'expire', "
            "'transfer', 'dispose', 'close', 'correction')",
            name="kind",
        ),
        CheckConstraint(
            "kind NOT IN ('administer', 'waste', 'return') OR draw_id IS NOT NULL",
            name="draw_linked",
        ),
        CheckConstraint("kind <> 'correction' OR corrects_id IS NOT NULL", name="corrects"),
        CheckConstraint("kind <> 'breakage' OR witness_id IS NOT NULL", name="breakage_witness"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("cs_registration.id", ondelete="RESTRICT")
    )
    container_id: Mapped[int] = mapped_column(ForeignKey("cs_container.id", ondelete="RESTRICT"))
    seq: Mapped[int] = mapped_column()
    kind: Mapped[str] = mapped_column(String(16))
    qty_ug: Mapped[int] = mapped_column(BigInteger)
    delta_ug: Mapped[int] = mapped_column(BigInteger)
    balance_ug: Mapped[int] = mapped_column(BigInteger)
    draw_id: Mapped[int | None] = mapped_column(ForeignKey("cs_event.id"), default=None)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("cs_event.id"), default=None)
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_session.id", ondelete="RESTRICT"), default=None
    )
    patient_id: Mapped[int | None] = mapped_column(
        ForeignKey("patient.id", ondelete="RESTRICT"), default=None
    )
    target_registration_id: Mapped[int | None] = mapped_column(
        ForeignKey("cs_registration.id", ondelete="RESTRICT"), default=None
    )
    method: Mapped[str] = mapped_column(String(100), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = user_fk()
    by_email: Mapped[str] = mapped_column(String(320))
    witness_id: Mapped[int | None] = user_fk()
    witness_email: Mapped[str] = mapped_column(String(320), default="")
    witnessed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CsDraw(Base):
    """The running account of one draw (id = the draw event's id): never over-accounted."""

    __tablename__ = "cs_draw"
    __table_args__ = (
        Index("ix_cs_draw_session", "session_id"),
        Index("ix_cs_draw_container_open", "container_id", "settled"),
        CheckConstraint(
            "administered_ug >= 0 AND wasted_ug >= 0 AND returned_ug >= 0", name="nonnegative"
        ),
        CheckConstraint(
            "administered_ug + wasted_ug + returned_ug <= drawn_ug", name="not_over_accounted"
        ),
        CheckConstraint(
            "settled = (administered_ug + wasted_ug + returned_ug = drawn_ug)", name="settled"
        ),
    )

    id: Mapped[int] = mapped_column(
        ForeignKey("cs_event.id", ondelete="RESTRICT"), primary_key=True, autoincrement=False
    )
    container_id: Mapped[int] = mapped_column(ForeignKey("cs_container.id", ondelete="RESTRICT"))
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("treatment_session.id", ondelete="RESTRICT"), default=None
    )
    drawn_ug: Mapped[int] = mapped_column(BigInteger)
    administered_ug: Mapped[int] = mapped_column(BigInteger, default=0)
    wasted_ug: Mapped[int] = mapped_column(BigInteger, default=0)
    returned_ug: Mapped[int] = mapped_column(BigInteger, default=0)
    settled: Mapped[bool] = mapped_column(default=False)
    void: Mapped[bool] = mapped_column(default=False)


class CsCount(Base):
    """A shift/daily count of one container: expected (the ledger) vs counted."""

    __tablename__ = "cs_count"
    __table_args__ = (Index("ix_cs_count_registration", "registration_id", "counted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("cs_registration.id", ondelete="RESTRICT")
    )
    container_id: Mapped[int] = mapped_column(ForeignKey("cs_container.id", ondelete="RESTRICT"))
    expected_ug: Mapped[int] = mapped_column(BigInteger)
    counted_ug: Mapped[int] = mapped_column(BigInteger)
    counted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    by_id: Mapped[int | None] = user_fk()
    by_email: Mapped[str] = mapped_column(String(320))
    witness_email: Mapped[str] = mapped_column(String(320), default="")
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cs_case.id", ondelete="RESTRICT"), default=None
    )


class CsCase(Base):
    """A discrepancy case. ``significant`` (theft or significant loss) starts the DEA timers:
    notice to the Field Division within 1 business day, Form 106 within 45 days."""

    __tablename__ = "cs_case"
    __table_args__ = (Index("ix_cs_case_open", "clinic_id", "closed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("cs_registration.id", ondelete="RESTRICT")
    )
    container_id: Mapped[int | None] = mapped_column(
        ForeignKey("cs_container.id", ondelete="RESTRICT"), default=None
    )
    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    difference_ug: Mapped[int] = mapped_column(BigInteger)
    significant: Mapped[bool] = mapped_column(default=False)
    notice_due: Mapped[date | None] = mapped_column(Date, default=None)
    form106_due: Mapped[date | None] = mapped_column(Date, default=None)
    notice_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    form106_filed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    investigation: Mapped[str] = mapped_column(Text, default="")
    resolution: Mapped[str] = mapped_column(Text, default="")
    opened_by_email: Mapped[str] = mapped_column(String(320))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    closed_by_email: Mapped[str] = mapped_column(String(320), default="")


class CsInventory(Base):
    """An initial, biennial (or annual) inventory: signed, dated, its lines frozen in ``lines``."""

    __tablename__ = "cs_inventory"
    __table_args__ = (
        Index("ix_cs_inventory_registration", "registration_id", "taken_at"),
        CheckConstraint("kind IN ('initial', 'biennial', 'annual')", name="kind"),
        CheckConstraint("timing IN ('opening', 'close')", name="timing"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    registration_id: Mapped[int] = mapped_column(
        ForeignKey("cs_registration.id", ondelete="RESTRICT")
    )
    kind: Mapped[str] = mapped_column(String(16))
    timing: Mapped[str] = mapped_column(String(16))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    signed_by_id: Mapped[int | None] = user_fk()
    signed_by_email: Mapped[str] = mapped_column(String(320))
