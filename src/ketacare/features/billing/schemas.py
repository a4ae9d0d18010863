"""Billing API bodies."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field


class ReasonOut(BaseModel):
    """Why a line was suggested (rule id, text, source)."""

    rule_id: str
    text: str
    source: str


class SuggestedLine(BaseModel):
    """A suggested claim line."""

    code: str
    description: str
    units: int
    modifiers: list[str]
    place_of_service: str
    reasons: list[ReasonOut]


class ConfirmedLine(BaseModel):
    """A confirmed claim line."""

    id: int
    session_id: int
    code: str
    units: int
    modifiers: str
    place_of_service: str
    charge_cents: int
    service_date: date
    session_version: int
    confirmed_by_email: str
    claim_id: int | None


class SessionBillingOut(BaseModel):
    """Suggested and confirmed codes of a session (``stale``: confirmed before an amendment)."""

    session_id: int
    patient_id: int
    service_date: date
    payer: str | None
    suggested: list[SuggestedLine]
    notes: list[ReasonOut]
    confirmed: list[ConfirmedLine]
    stale: bool


class ConfirmIn(BaseModel):
    """Codes (from the suggestion) to confirm."""

    codes: list[str] = Field(min_length=1, max_length=10)


class PriorAuthIn(BaseModel):
    """A prior authorisation or its request."""

    payer_id: int = Field(ge=1, le=2_147_483_647)
    codes: str = Field(min_length=1, max_length=100, examples=["G2082,G2083"])
    requested_on: date
    status: Literal["requested", "approved", "denied", "appealed", "expired", "withdrawn"] = (
        "requested"
    )
    auth_number: str = Field("", max_length=50)
    approved_units: int | None = Field(None, ge=1, le=1000)
    start_date: date | None = None
    end_date: date | None = None
    note: str = Field("", max_length=2000)


class PriorAuthOut(BaseModel):
    """A prior authorisation with its burn-down."""

    id: int
    payer_id: int
    codes: str
    status: str
    auth_number: str
    approved_units: int | None
    start_date: date | None
    end_date: date | None
    used: int
    remaining: int | None
    alerts: list[ReasonOut]


class LedgerIn(BaseModel):
    """A charge, payment or adjustment in cents (adjustments may be negative)."""

    kind: Literal["charge", "payment", "adjustment"]
    amount_cents: int = Field(ge=-10_000_000, le=10_000_000)
    on_date: date
    memo: str = Field("", max_length=200)


class LedgerOut(BaseModel):
    """One ledger entry."""

    id: int
    kind: str
    amount_cents: int
    on_date: date
    memo: str


class ClaimIn(BaseModel):
    """Make an 837P claim of the unclaimed confirmed lines for a payer."""

    payer_id: int = Field(ge=1, le=2_147_483_647)
    diagnoses: list[str] = Field(min_length=1, max_length=12, examples=[["F33.2"]])


class ClaimOut(BaseModel):
    """A claim as stored (``content``: the 837P text)."""

    id: int
    control_number: int
    total_cents: int
    delivered_to: str
    content: str


class PatientBillingOut(BaseModel):
    """A patient's billing record: demographics, confirmed lines, prior auths, balance."""

    patient_id: int
    given_name: str
    family_name: str
    birth_date: date | None
    lines: list[ConfirmedLine]
    prior_auths: list[PriorAuthOut]
    ledger: list[LedgerOut]
    balance_cents: int


class PayerIn(BaseModel):
    """A payer and how it wants sessions coded (defaults follow Medicare)."""

    name: str = Field(min_length=1, max_length=60)
    payer_id: str = Field(min_length=1, max_length=80)
    uses_g_codes: bool = True
    bills_drug_separately: bool = False
    drug_code_switch: date = date(2026, 1, 1)
    bundles_em: bool = True
    place_of_service: str = Field("11", pattern=r"^\d{2}$")
    modifiers: dict[str, list[str]] = Field(default_factory=dict)


class PayerOut(BaseModel):
    """A payer as stored (``policy``: the coding choices)."""

    id: int
    name: str
    payer_id: str
    policy: dict[str, Any]


class CoverageIn(BaseModel):
    """A patient's insurance with one payer, as on the card."""

    payer_id: int = Field(ge=1, le=2_147_483_647)
    member_id: str = Field(min_length=1, max_length=80)
    plan_name: str = Field("", max_length=80)
    group_number: str = Field("", max_length=50)
    subscriber_relationship: Literal["self", "spouse", "child", "other"] = "self"
    subscriber_name: str = Field("", max_length=120)
    subscriber_birth_date: date | None = None
    address: str = Field("", max_length=55)
    city: str = Field("", max_length=30)
    state: str = Field("", max_length=2)
    postal_code: str = Field("", max_length=10)
    start_date: date | None = None
    end_date: date | None = None
    primary: bool = True


class CoverageOut(CoverageIn):
    """A coverage as stored."""

    id: int
    patient_id: int
