"""Schedule and overdue-list API bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ketacare.features._kit.dates import SaneDate
from ketacare.features.outreach.models import Recurrence


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
