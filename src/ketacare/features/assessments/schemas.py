"""Assessment, schedule, alert and overdue API bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ketacare.features._kit.dates import SaneDate, SaneDateTime
from ketacare.features.assessments.models import Recurrence


class ScheduleCreate(BaseModel):
    """A new assessment schedule for the patient."""

    model_config = ConfigDict(extra="forbid")

    instrument: str = Field(max_length=32, description="A linkable instrument id, e.g. phq9.")
    recurrence: Recurrence
    start_date: SaneDate
    interval_weeks: int = Field(1, ge=1, le=52, description="For every_n_weeks.")
    until_date: SaneDate | None = None


class ScheduleUpdate(BaseModel):
    """Change the end date, or stop the schedule with ``active: false``."""

    model_config = ConfigDict(extra="forbid")

    until_date: SaneDate | None = None
    active: Literal[False] | None = None


class ScheduleOut(BaseModel):
    """A schedule as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    instrument_id: str
    recurrence: Recurrence
    interval_weeks: int
    start_date: date
    until_date: date | None
    active: bool


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


class OverdueOut(BaseModel):
    """An assessment due and not completed."""

    model_config = ConfigDict(from_attributes=True)

    invitation_id: int
    patient_id: int
    patient_name: str
    instrument_id: str
    due_at: datetime
    expires_at: datetime
    status: str
    delivery: str
