"""Turning the session page's form posts into the API's bodies.

Empty fields are absent; checkboxes are ``on``; times on the tablet are entered as "minutes
ago" (``<name>_min_ago``), which avoids time-zone ambiguity; scale items are ``item.<id>``;
REMS fields ``rems.<id>``; amendment changes ``change.<field>``.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

BOOLS = ("transport_arranged", "assessments_reviewed", "serious")


def local_time_today(value: str, now: datetime, zone: tzinfo) -> datetime:
    """``HH:MM`` on the clinic's local date of ``now``, as UTC (ValueError if not a time)."""
    t = time.fromisoformat(value)
    day = now.astimezone(zone).date()
    return datetime.combine(day, t.replace(tzinfo=None), tzinfo=zone).astimezone(UTC)


def _error(field: str, msg: str) -> ValidationError:
    detail = InitErrorDetails(type=PydanticCustomError("value_error", msg), loc=(field,), input="")
    return ValidationError.from_exception_data("form", [detail])


def parse(
    schema: type[BaseModel], form: dict[str, str], now: datetime, zone: tzinfo = UTC
) -> BaseModel:
    """Build ``schema`` from the posted form (``ValidationError`` names the fields).

    ``<name>_local`` is a clock time (``HH:MM``) today in the clinic's time ``zone``.
    """
    data: dict[str, Any] = {}
    answers: dict[str, str] = {}
    rems: dict[str, str] = {}
    changes: dict[str, str] = {}
    ago: dict[str, str] = {}  # "minutes ago" wins over a stored time sent back
    for key, raw in form.items():
        value = raw.strip()
        if key == "csrf_token":
            continue
        if key.startswith("item."):
            if value != "":
                answers[key[5:]] = value
        elif key.startswith("rems."):
            rems[key[5:]] = value
        elif key.startswith("change."):
            if value != "":
                changes[key[7:]] = value
        elif key.endswith("_min_ago"):
            if value == "":
                continue
            try:
                minutes = float(value)
            except ValueError:
                raise _error(key, "must be a number of minutes") from None
            if not 0 <= minutes <= 24 * 60:
                raise _error(key, "must be from 0 to 1440 minutes")
            ago[key.removesuffix("_min_ago")] = (now - timedelta(minutes=minutes)).isoformat()
        elif key.endswith("_local"):
            if value == "":
                continue
            try:
                at = local_time_today(value, now, zone)
            except ValueError:
                raise _error(key, "must be a time HH:MM") from None
            ago[key.removesuffix("_local")] = at.isoformat()
        elif key in BOOLS or key == "rems_enrolled":
            data[key] = value in ("on", "yes", "true")
        elif value != "":
            data[key] = value
    data.update(ago)
    if "rems_enrolled" in form and form["rems_enrolled"] == "":
        data.pop("rems_enrolled", None)
    if schema.__name__ == "ScaleIn":
        data["answers"] = answers
    if schema.__name__ == "RemsIn":
        data["fields"] = rems
    if schema.__name__ == "AmendmentIn":
        data["changes"] = changes
    return schema.model_validate(data)
