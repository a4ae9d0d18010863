"""Scheduling API bodies. Times are ISO 8601 instants with an offset; dates are the clinic's
local dates; ``earliest``/``latest_start`` are local times of day."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ketacare.domain.course.booking import Kind, StaffRole
from ketacare.features.scheduling.models import BookingStatus


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("give a time zone offset, e.g. 2030-03-04T09:00:00-05:00")
    return value


Aware = Annotated[datetime, AfterValidator(_aware)]


class SiteIn(BaseModel):
    """A new site; ``hours`` like ``mon-fri 08:00-18:00; sat 09:00-13:00``."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)
    hours: str = Field(min_length=1, max_length=200)
    rems_certified: bool = False


class SiteOut(BaseModel):
    """A site with its chairs."""

    id: int
    name: str
    hours: dict[str, list[str]]
    rems_certified: bool
    chairs: list[ChairOut] = []


class ChairIn(BaseModel):
    """A new chair."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=100)


class ChairOut(BaseModel):
    """A chair."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    name: str


class ClosureIn(BaseModel):
    """A closure day (local date)."""

    model_config = ConfigDict(extra="forbid")
    day: date
    reason: str = Field(default="", max_length=200)


class ShiftIn(BaseModel):
    """A staff shift."""

    model_config = ConfigDict(extra="forbid")
    staff_name: str = Field(min_length=1, max_length=200)
    role: StaffRole
    starts_at: Aware
    ends_at: Aware
    user_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


class IdOut(BaseModel):
    """The id of a created row."""

    id: int


class SlotOut(BaseModel):
    """A bookable chair time."""

    chair_id: int
    starts_at: datetime
    ends_at: datetime


class CourseIn(BaseModel):
    """A course to search or book: a plan's planned sessions (``plan_id``, optionally from
    ``from_day``) or explicit local ``targets`` with ``kind`` and spacing."""

    model_config = ConfigDict(extra="forbid")
    site_id: int = Field(ge=1, le=2_147_483_647)
    plan_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    from_day: date | None = None
    kind: Kind | None = None
    targets: list[date] = Field(default_factory=list, max_length=60)
    min_spacing_hours: float = Field(default=48.0, ge=0, le=24 * 60)
    weekdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=lambda: list(range(7)),
        max_length=7,
        description="Allowed weekdays: 0 (Monday) to 6 (Sunday).",
    )
    earliest: time = time(0, 0)
    latest_start: time = time(23, 59)


class BookingIn(BaseModel):
    """One chair time."""

    model_config = ConfigDict(extra="forbid")
    site_id: int = Field(ge=1, le=2_147_483_647)
    chair_id: int = Field(ge=1, le=2_147_483_647)
    kind: Kind
    starts_at: Aware


class BookingOut(BaseModel):
    """A booking."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    site_id: int
    chair_id: int
    patient_id: int
    plan_id: int | None
    session_id: int | None
    kind: Kind
    starts_at: datetime
    ends_at: datetime
    status: BookingStatus
    reason: str
    confirmed_at: datetime | None
    reschedule_requested_at: datetime | None
    instructions_ack_at: datetime | None


class RescheduleIn(BaseModel):
    """Move a booking; ``move_later`` also moves later sessions that break the spacing."""

    model_config = ConfigDict(extra="forbid")
    starts_at: Aware
    chair_id: int | None = Field(default=None, ge=1, le=2_147_483_647)
    move_later: bool = False
    min_spacing_hours: float = Field(default=48.0, ge=0, le=24 * 60)


class MoveOut(BaseModel):
    """A later session and where it goes (or would go)."""

    booking_id: int
    chair_id: int
    starts_at: datetime
    ends_at: datetime


class RescheduleOut(BaseModel):
    """The moved booking and the later sessions' moves (done when ``moved_later``)."""

    booking: BookingOut
    later: list[MoveOut]
    moved_later: bool


class CancelIn(BaseModel):
    """Cancel or record a no-show, with a reason."""

    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=1, max_length=500)
    no_show: bool = False


class WaitlistIn(BaseModel):
    """Join the waitlist of a site between two local dates."""

    model_config = ConfigDict(extra="forbid")
    site_id: int = Field(ge=1, le=2_147_483_647)
    kind: Kind
    earliest: date
    latest: date


class BoardChair(BaseModel):
    """One chair on the live board."""

    chair_id: int
    chair: str
    booking_id: int | None = None
    patient: str = ""
    patient_id: int | None = None
    phase: str = "free"
    next_due: str = ""
    next_due_at: datetime | None = None
    alerts: list[str] = []
    confirmed: bool = False
    session_id: int | None = None
    starts_at: datetime | None = None


class FeedIn(BaseModel):
    """A calendar feed: a site's bookings (``site_id``), else the caller's own shifts."""

    model_config = ConfigDict(extra="forbid")
    site_id: int | None = Field(default=None, ge=1, le=2_147_483_647)


class FeedOut(BaseModel):
    """A calendar feed; ``url`` (with its private token) only when it is created."""

    id: int
    site_id: int | None
    user_id: int | None
    created_at: datetime
    revoked_at: datetime | None
    url: str = ""


SiteOut.model_rebuild()
