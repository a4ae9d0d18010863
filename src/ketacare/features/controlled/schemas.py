"""JSON bodies of the controlled-substance API (quantities in mg as decimal strings or numbers)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

Mg = Field(description="Milligrams, up to 3 decimals (e.g. '12.5').", max_length=20)


class WitnessIn(BaseModel):
    """A second user re-authenticating at this moment (their own password)."""

    witness_email: str = Field("", max_length=320)
    witness_password: str = Field("", max_length=200)


class RegistrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    site_name: str = Field(max_length=200)
    dea_number: str = Field(max_length=9, description="Two letters and seven digits.")
    address: str = Field(max_length=2000)
    registrant: str = Field(max_length=200)
    expires_on: date
    schedules: str = Field("3,3N", max_length=64)


class RegistrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    site_name: str
    dea_number: str
    schedules: str
    address: str
    registrant: str
    expires_on: date


class ReceiptBody(WitnessIn):
    model_config = ConfigDict(extra="forbid")

    registration_id: int = Field(ge=1, le=2**31 - 1)
    invoice_number: str = Field(max_length=64)
    supplier_name: str = Field(max_length=200)
    supplier_address: str = Field(max_length=2000)
    supplier_dea: str = Field(max_length=9)
    received_at: AwareDatetime
    ndc: str = Field(max_length=13)
    drug: Literal["ketamine", "esketamine"]
    product: str = Field(max_length=200)
    form: Literal["vial", "device"]
    container_mg: str = Mg
    concentration_mg_ml: float | None = Field(None, gt=0, le=1000)
    container_ml: float | None = Field(None, gt=0, le=1000)
    lot: str = Field(max_length=64)
    expiry: date
    containers: int = Field(ge=1, le=1000)


class ContainerOut(BaseModel):
    id: int
    label: str
    registration_id: int
    drug: str
    product: str
    form: str
    lot: str
    expiry: date
    status: str
    concentration_mg_ml: float | None
    full_mg: float
    balance_mg: float
    balance_ml: float | None


class ReceiptOut(BaseModel):
    id: int
    containers: list[ContainerOut]


class EventBody(WitnessIn):
    model_config = ConfigDict(extra="forbid")

    kind: Literal[
        "draw", "administer", "waste", "return", "breakage", "expire", "transfer", "dispose",
        "close", "correction",
    ]  # fmt: skip
    qty_mg: str = Field("0", max_length=20, description="Milligrams (transfer/dispose: all).")
    draw_id: int | None = Field(None, ge=1, le=2**31 - 1)
    corrects: int | None = Field(None, ge=1, le=2**31 - 1)
    session_id: int | None = Field(None, ge=1, le=2**31 - 1)
    target_registration_id: int | None = Field(None, ge=1, le=2**31 - 1)
    method: str = Field("", max_length=100)
    note: str = Field("", max_length=4000)
    occurred_at: AwareDatetime | None = None


class EventOut(BaseModel):
    id: int
    seq: int
    kind: str
    qty_mg: float
    delta_mg: float
    balance_mg: float
    draw_id: int | None
    corrects_id: int | None
    session_id: int | None
    by: str
    witness: str
    witnessed_at: datetime | None
    occurred_at: datetime


class CountBody(WitnessIn):
    model_config = ConfigDict(extra="forbid")

    container_id: int = Field(ge=1, le=2**31 - 1)
    counted_mg: str = Mg
    significant: bool = False


class CountOut(BaseModel):
    id: int
    expected_mg: float
    counted_mg: float
    case_id: int | None


class CaseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    investigation: str | None = Field(None, max_length=8000)
    resolution: str | None = Field(None, max_length=8000)
    significant: bool | None = None
    notice_sent: bool = False
    form106_filed: bool = False
    close: bool = False


class CaseOut(BaseModel):
    id: int
    container: str
    difference_mg: str
    significant: bool
    notice_due: date | None
    form106_due: date | None
    notice_overdue: bool
    form106_overdue: bool


class InventoryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    registration_id: int = Field(ge=1, le=2**31 - 1)
    kind: Literal["initial", "biennial", "annual"]
    timing: Literal["opening", "close"]
    estimates_mg: dict[str, str] = Field(
        default_factory=dict, description="Container label -> estimated mg (opened containers)."
    )


class InventoryOut(BaseModel):
    id: int
    registration_id: int
    kind: str
    timing: str
    taken_at: datetime
    signed_by: str
    lines: list[dict[str, object]]


class LogRowOut(BaseModel):
    """One ledger event of the administration log (clinic time; patient name and address on
    administrations, 21 CFR 1304.22(c))."""

    occurred_at: str
    kind: str
    container: str
    drug: str
    product: str
    lot: str
    qty_mg: float
    qty_ml: float | None
    balance_mg: float
    patient: str
    patient_address: str
    session_id: int | None
    by: str
    witness: str
    method: str
    note: str
    corrects: int | None


class LogPageOut(BaseModel):
    """One page of the log; ``next`` is the cursor of the following page (``after=``), null
    on the last."""

    rows: list[LogRowOut]
    next: str | None
