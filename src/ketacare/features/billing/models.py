"""Billing: the clinic's billing profile, payers, patients' coverage, confirmed code lines,
claims, prior authorisations and the patient ledger (issue 20)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from ketacare.db.base import Base, UTCDateTime, user_fk, utcnow


class BillingProfile(Base):
    """The clinic as billing provider: NPI, tax id, address, clearinghouse ids and fees."""

    __tablename__ = "billing_profile"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(
        ForeignKey("clinic.id", ondelete="RESTRICT"), unique=True
    )
    billing_name: Mapped[str] = mapped_column(String(60), default="")
    npi: Mapped[str] = mapped_column(String(10), default="")
    tax_id: Mapped[str] = mapped_column(String(9), default="")
    taxonomy: Mapped[str] = mapped_column(String(10), default="")
    address: Mapped[str] = mapped_column(String(55), default="")
    city: Mapped[str] = mapped_column(String(30), default="")
    state: Mapped[str] = mapped_column(String(2), default="")
    postal_code: Mapped[str] = mapped_column(String(9), default="")
    phone: Mapped[str] = mapped_column(String(10), default="")
    submitter_id: Mapped[str] = mapped_column(String(15), default="")
    receiver_id: Mapped[str] = mapped_column(String(15), default="")
    receiver_name: Mapped[str] = mapped_column(String(60), default="")
    #: Fee per code in cents, e.g. {"G2082": 90600}: the clinic's schedule, never built in.
    fees: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: Prior-authorisation alerts: days before the end date, units before the last [U].
    auth_expiry_lead_days: Mapped[int] = mapped_column(default=14)
    auth_units_lead: Mapped[int] = mapped_column(default=2)
    #: The codes a booking of each route draws on a prior authorisation before it is charted,
    #: as ``esketamine=G2082,G2083;iv=96365`` (empty: ``domain.billing.codes.BOOKING_CODES``
    #: [U]).
    booking_codes: Mapped[str] = mapped_column(String(200), default="", server_default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Payer(Base):
    """A payer and how it wants sessions coded (``domain.billing.codes.PayerPolicy`` fields)."""

    __tablename__ = "billing_payer"
    __table_args__ = (UniqueConstraint("clinic_id", "name", name="uq_billing_payer_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(60))
    payer_id: Mapped[str] = mapped_column(String(80), default="")
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Coverage(Base):
    """A patient's insurance with one payer (the patient is the subscriber)."""

    __tablename__ = "billing_coverage"
    __table_args__ = (
        UniqueConstraint("patient_id", "payer_id", name="uq_billing_coverage_patient_payer"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    payer_id: Mapped[int] = mapped_column(ForeignKey("billing_payer.id", ondelete="RESTRICT"))
    member_id: Mapped[str] = mapped_column(String(80))
    group_number: Mapped[str] = mapped_column(String(50), default="")
    address: Mapped[str] = mapped_column(String(55), default="")
    city: Mapped[str] = mapped_column(String(30), default="")
    state: Mapped[str] = mapped_column(String(2), default="")
    postal_code: Mapped[str] = mapped_column(String(9), default="")
    primary: Mapped[bool] = mapped_column(default=True)
    #: The plan's name as on the card (e.g. "Choice Plus PPO").
    plan_name: Mapped[str] = mapped_column(String(80), default="", server_default="")
    #: The patient's relationship to the subscriber: self, spouse, child or other.
    subscriber_relationship: Mapped[str] = mapped_column(
        String(16), default="self", server_default="self"
    )
    #: The subscriber when not the patient (name as on the card, birth date).
    subscriber_name: Mapped[str] = mapped_column(String(120), default="", server_default="")
    subscriber_birth_date: Mapped[date | None] = mapped_column(Date, default=None)
    #: The coverage's effective dates (None: open).
    start_date: Mapped[date | None] = mapped_column(Date, default=None)
    end_date: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class BillingLine(Base):
    """A code line a clinician or billing user confirmed for a signed session.

    ``session_version`` is the session's version when confirmed: an amendment makes the line
    stale (shown for re-confirmation). A code is confirmed at most once per session
    (partial unique index over lines not voided).
    """

    __tablename__ = "billing_line"
    __table_args__ = (
        Index("ix_billing_line_patient_date", "patient_id", "service_date"),
        Index(
            "uq_billing_line_session_code",
            "session_id",
            "code",
            unique=True,
            postgresql_where=text("voided_at IS NULL"),
            sqlite_where=text("voided_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_session.id", ondelete="RESTRICT"))
    session_version: Mapped[int]
    payer_id: Mapped[int | None] = mapped_column(
        ForeignKey("billing_payer.id", ondelete="RESTRICT"), default=None
    )
    service_date: Mapped[date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(8))
    units: Mapped[int] = mapped_column(CheckConstraint("units > 0", name="units"))
    modifiers: Mapped[str] = mapped_column(String(16), default="")
    place_of_service: Mapped[str] = mapped_column(String(2))
    charge_cents: Mapped[int] = mapped_column(default=0)
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    confirmed_by_id: Mapped[int | None] = user_fk()
    confirmed_by_email: Mapped[str] = mapped_column(String(320), default="")
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    void_reason: Mapped[str] = mapped_column(Text, default="")
    claim_id: Mapped[int | None] = mapped_column(
        ForeignKey("billing_claim.id", ondelete="SET NULL"), default=None
    )


class Claim(Base):
    """An 837P claim written to the clearinghouse adapter (the file is kept)."""

    __tablename__ = "billing_claim"
    __table_args__ = (
        UniqueConstraint("clinic_id", "control_number", name="uq_billing_claim_control"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    payer_id: Mapped[int] = mapped_column(ForeignKey("billing_payer.id", ondelete="RESTRICT"))
    control_number: Mapped[int]
    total_cents: Mapped[int]
    content: Mapped[str] = mapped_column(Text)
    delivered_to: Mapped[str] = mapped_column(String(300), default="")
    created_by_id: Mapped[int | None] = user_fk()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PriorAuth(Base):
    """A prior authorisation of one patient with one payer for some codes."""

    __tablename__ = "prior_auth"
    __table_args__ = (
        Index("ix_prior_auth_patient", "patient_id", "payer_id"),
        CheckConstraint("approved_units IS NULL OR approved_units > 0", name="units"),
        CheckConstraint(
            "end_date IS NULL OR start_date IS NULL OR end_date >= start_date",
            name="dates",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    payer_id: Mapped[int] = mapped_column(ForeignKey("billing_payer.id", ondelete="RESTRICT"))
    #: Codes whose units count against the approval, comma-separated ("G2082,G2083").
    codes: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16), default="requested")
    requested_on: Mapped[date] = mapped_column(Date)
    auth_number: Mapped[str] = mapped_column(String(50), default="")
    approved_units: Mapped[int | None] = mapped_column(default=None)
    start_date: Mapped[date | None] = mapped_column(Date, default=None)
    end_date: Mapped[date | None] = mapped_column(Date, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class PriorAuthEvent(Base):
    """A status change, denial, appeal or note on a prior authorisation."""

    __tablename__ = "prior_auth_event"
    __table_args__ = (Index("ix_prior_auth_event_auth", "prior_auth_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    prior_auth_id: Mapped[int] = mapped_column(ForeignKey("prior_auth.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="")
    note: Mapped[str] = mapped_column(Text, default="")
    by_id: Mapped[int | None] = user_fk()
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LedgerEntry(Base):
    """A charge, payment or adjustment on a patient's account (cents; no card processing)."""

    __tablename__ = "billing_ledger"
    __table_args__ = (
        Index("ix_billing_ledger_patient", "patient_id", "on_date"),
        CheckConstraint("kind IN ('charge', 'payment', 'adjustment')", name="kind"),
        CheckConstraint("kind = 'adjustment' OR amount_cents > 0", name="amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(16))
    amount_cents: Mapped[int]
    on_date: Mapped[date] = mapped_column(Date)
    memo: Mapped[str] = mapped_column(String(200), default="")
    billing_line_id: Mapped[int | None] = mapped_column(
        ForeignKey("billing_line.id", ondelete="SET NULL"), default=None
    )
    by_id: Mapped[int | None] = user_fk()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
