"""Request and response bodies of the session API (also used to parse the page forms)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ketacare.features._kit.dates import SaneAwareDateTime as AwareDatetime

Route = Literal["iv", "im", "esketamine"]
Timepoint = Literal["pre_dose", "peak", "discharge", "other"]
Instrument = Literal["cadss6", "cadss23", "moaas"]
Term = Literal[
    "nausea",
    "vomiting",
    "headache",
    "dizziness",
    "raised_blood_pressure",
    "dissociation",
    "sedation",
    "anxiety",
    "respiratory_depression",
    "other",
]
TERMS: tuple[str, ...] = Term.__args__  # type: ignore[attr-defined]
Severity = Literal["mild", "moderate", "severe"]
Outcome = Literal["resolved", "resolving", "not_resolved", "transferred", "unknown"]

_STRICT = ConfigDict(extra="forbid")


class SessionCreate(BaseModel):
    """Start charting a planned session of the patient's active plan."""

    model_config = _STRICT
    planned_session_id: int | None = Field(
        None, ge=1, le=2_147_483_647, description="Default: the next uncharted planned session."
    )
    route: Route | None = Field(None, description="Default from the plan; im allowed for ketamine.")
    product: str = Field("", max_length=100)
    lot: str = Field("", max_length=64)
    concurrent_reason: str = Field(
        "",
        max_length=2000,
        description="Clinician only: why a second session is opened while one is open.",
    )


class ChecklistIn(BaseModel):
    """The pre-dose checklist (may be saved partly; the dose needs it complete)."""

    model_config = _STRICT
    systolic: int | None = Field(None, ge=40, le=300)
    diastolic: int | None = Field(None, ge=20, le=200)
    heart_rate: int | None = Field(None, ge=20, le=250)
    spo2: int | None = Field(None, ge=50, le=100)
    last_food_at: AwareDatetime | None = None
    last_liquid_at: AwareDatetime | None = None
    pregnancy_test: Literal["", "negative", "positive"] = ""
    transport_arranged: bool = False
    assessments_reviewed: bool = False
    rems_enrolled: bool | None = Field(None, description="Esketamine: enrolled in the REMS.")
    measured_at: AwareDatetime | None = Field(
        None, description="When the pre-dose BP, HR and SpO2 were measured; default now."
    )


class DecisionIn(BaseModel):
    """A clinician's decision on a raised pre-dose BP."""

    model_config = _STRICT
    decision: Literal["proceed", "defer"]
    reason: str = Field(min_length=1, max_length=2000)


class DoseIn(BaseModel):
    """The dose as given."""

    model_config = _STRICT
    given_dose_mg: float = Field(gt=0, le=500)
    dose_start: AwareDatetime | None = Field(None, description="First device / start; default now.")
    devices: int | None = Field(None, ge=1, le=3, description="Esketamine: 28 mg devices used.")
    last_device_at: AwareDatetime | None = Field(None, description="Esketamine: the last device.")
    dose_end: AwareDatetime | None = Field(None, description="IV/IM: end of infusion/injection.")
    product: str | None = Field(None, max_length=100)
    lot: str | None = Field(None, max_length=64)


class VitalsIn(BaseModel):
    """One reading at any time (at least one value)."""

    model_config = _STRICT
    at: AwareDatetime | None = Field(None, description="Default now.")
    systolic: int | None = Field(None, ge=40, le=300)
    diastolic: int | None = Field(None, ge=20, le=200)
    heart_rate: int | None = Field(None, ge=20, le=250)
    spo2: int | None = Field(None, ge=50, le=100)
    resp_rate: int | None = Field(None, ge=2, le=80)


class ScaleIn(BaseModel):
    """CADSS-6, CADSS-23 or MOAA/S answers (item id -> answer) at a timepoint."""

    model_config = _STRICT
    instrument: Instrument
    timepoint: Timepoint
    answers: dict[str, int]
    at: AwareDatetime | None = None


class AdverseEventIn(BaseModel):
    """A coded adverse event."""

    model_config = _STRICT
    term: Term
    other_text: str = Field("", max_length=200, description="Required when term is other.")
    severity: Severity
    serious: bool = False
    action: str = Field("", max_length=2000)
    outcome: Outcome = "unknown"
    onset_at: AwareDatetime | None = None


class RemsIn(BaseModel):
    """Typed PMF fields (field id -> value; see GET .../rems for the list)."""

    model_config = _STRICT
    fields: dict[str, str]


class AmendmentIn(BaseModel):
    """A correction to a signed session, with its reason."""

    model_config = _STRICT
    reason: str = Field(min_length=1, max_length=2000)
    changes: dict[str, Any] = Field(
        description="product, lot, given_dose_mg, notes, or rems.<field id>."
    )


class ReasonOut(BaseModel):
    """A rule's finding."""

    rule_id: str
    text: str
    source: str
    detail: str = ""


class DischargeOut(BaseModel):
    """The discharge gate now."""

    allowed: bool
    checked_at: datetime
    unmet: list[ReasonOut]
    met: list[ReasonOut]
