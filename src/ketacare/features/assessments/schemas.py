"""Assessment and alert API bodies (schedules and the overdue list: ``outreach.schemas``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ketacare.features._kit.dates import SaneDateTime


class AssessmentCreate(BaseModel):
    """Answers to score and store (item id -> answer, or a list in item order)."""

    model_config = ConfigDict(extra="forbid")

    instrument: str = Field(max_length=32)
    answers: dict[str, int | None] | list[int | None] = Field(max_length=64)
    completed_at: SaneDateTime | None = Field(None, description="Default now; with a time zone.")
    source: Literal["api", "clinician", "imported"] = Field(
        "api", description="imported: historical data, raises no alerts."
    )


class AlertOut(BaseModel):
    """An alert as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    assessment_id: int
    rule_id: str
    level: str
    reason: str
    source: str
    status: str
    created_at: datetime
    escalated_at: datetime | None
    acknowledged_at: datetime | None
    acknowledged_by_id: int | None
    ack_note: str


class AssessmentOut(BaseModel):
    """A stored assessment (with the alerts it raised, on creation)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    instrument_id: str
    instrument_version: str
    answers: dict[str, Any]
    total: int | None
    band: str | None
    flags: list[str]
    complete: bool
    completed_at: datetime
    source: str
    alerts: list[AlertOut] = []


class AcknowledgeBody(BaseModel):
    """What the clinician did about the alert."""

    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000)
