"""Clinic time: store UTC, show and accept the clinic's local time (IANA zone names).

Every page, PDF, CSV and calendar file formats times through these helpers so that staff see
and type the clinic's wall-clock time while the database keeps UTC instants:

- ``to_local(dt, tz)``: a stored (UTC) instant as a local aware datetime;
- ``parse_local(s, tz)``: a typed local date-time (``YYYY-MM-DDTHH:MM`` as sent by
  ``<input type="datetime-local">``, or with a space) as a UTC instant; a wall-clock time
  skipped by a daylight-saving change is refused, an ambiguous one (the repeated hour)
  is the first occurrence (``fold=0``);
- ``clinic_tz(clinic, settings.timezone)``: the clinic's zone (its ``timezone`` column, else
  ``KETACARE_TIMEZONE``);
- ``local_day_bounds(day, tz)``: the UTC instants a local calendar day starts and ends at.

Pages use the Jinja filters ``local`` (``{{ dt | local }}``, ``{{ dt | local("%H:%M") }}``)
and ``local_input`` (the value of a ``datetime-local`` input); they read the zone from the
template context (``tz``), which ``_kit.templating.render`` fills from the logged-in user's
clinic.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

#: How pages print a date and time, and a date alone (ISO order, 24-hour clock).
DATETIME_FORMAT = "%Y-%m-%d %H:%M"
DATE_FORMAT = "%Y-%m-%d"
#: The value format of ``<input type="datetime-local">``.
INPUT_FORMAT = "%Y-%m-%dT%H:%M"

TzLike = ZoneInfo | str | None


class HasTimezone(Protocol):
    """Anything with an optional IANA zone name (a clinic row)."""

    @property
    def timezone(self) -> str | None: ...


class TimeError(ValueError):
    """A time zone name or a local time that cannot be used (the message names the problem)."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (e.g. ``America/New_York``); TimeError when unknown."""
    cleaned = (name or "").strip()
    if not cleaned or cleaned.startswith(("/", ".")) or ".." in cleaned:
        raise TimeError(f"unknown time zone {name!r}: use an IANA name such as America/New_York")
    try:
        return ZoneInfo(cleaned)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise TimeError(
            f"unknown time zone {name!r}: use an IANA name such as America/New_York"
        ) from None


def valid_tz(name: str) -> str:
    """``name`` stripped, if it is a known IANA zone; TimeError otherwise."""
    return zone(name).key


def _tz(tz: TzLike) -> ZoneInfo:
    if tz is None:
        return ZoneInfo("UTC")
    if isinstance(tz, ZoneInfo):
        return tz
    return zone(tz)


def clinic_tz(clinic: HasTimezone | None, default: str = "UTC") -> ZoneInfo:
    """The clinic's zone: its own ``timezone``, else ``default`` (pass ``settings.timezone``,
    i.e. ``KETACARE_TIMEZONE``)."""
    name = getattr(clinic, "timezone", None) if clinic is not None else None
    if name:
        try:
            return zone(name)
        except TimeError:
            pass
    return zone(default or "UTC")


def to_local(dt: datetime | None, tz: TzLike) -> datetime | None:
    """A stored instant in the zone ``tz`` (naive values are taken as UTC)."""
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.astimezone(_tz(tz))


def format_local(dt: datetime | date | str | None, tz: TzLike, fmt: str = DATETIME_FORMAT) -> str:
    """``dt`` (an instant, or its ISO text) as local wall-clock text; dates print as they
    are; '' for None or ''."""
    if dt is None or dt == "":
        return ""
    if isinstance(dt, str):
        try:
            value: datetime | date = datetime.fromisoformat(dt)
        except ValueError:
            return dt
        dt = value
    if not isinstance(dt, datetime):
        return dt.strftime(fmt if "%H" not in fmt else DATE_FORMAT)
    local = to_local(dt, tz)
    assert local is not None
    return local.strftime(fmt)


def input_value(dt: datetime | None, tz: TzLike) -> str:
    """The value of a ``datetime-local`` input showing ``dt`` in the zone ``tz``."""
    return format_local(dt, tz, INPUT_FORMAT)


def local_date(dt: datetime | None, tz: TzLike) -> date | None:
    """The local calendar day of an instant."""
    local = to_local(dt, tz)
    return local.date() if local is not None else None


def from_local(naive: datetime, tz: TzLike) -> datetime:
    """A naive local wall-clock time as a UTC instant.

    Raises TimeError for a time that does not exist in the zone (skipped by a spring-forward
    change); an ambiguous time (the repeated hour in autumn) is its first occurrence.
    """
    zi = _tz(tz)
    if naive.tzinfo is not None:
        return naive.astimezone(UTC)
    aware = naive.replace(tzinfo=zi, fold=0)
    back = aware.astimezone(UTC).astimezone(zi)
    if back.replace(tzinfo=None) != naive:
        raise TimeError(
            f"{naive:%Y-%m-%d %H:%M} does not exist in {zi.key} "
            "(the clocks skip it for daylight saving time)"
        )
    return aware.astimezone(UTC)


def parse_local(text: str, tz: TzLike) -> datetime:
    """A typed local date-time as a UTC instant (TimeError names the problem).

    Accepts ``YYYY-MM-DDTHH:MM[:SS]`` or ``YYYY-MM-DD HH:MM[:SS]``; a value with an explicit
    offset (``Z``, ``+02:00``) is taken as that instant.
    """
    cleaned = (text or "").strip()
    if not cleaned:
        raise TimeError("enter a date and time")
    try:
        parsed = datetime.fromisoformat(cleaned.replace(" ", "T", 1))
    except ValueError:
        raise TimeError(f"{text!r} is not a date and time (YYYY-MM-DD HH:MM)") from None
    if parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    if not (1900 <= parsed.year <= 2200):
        raise TimeError(f"{text!r}: the year must be between 1900 and 2200")
    return from_local(parsed, tz)


def local_day_bounds(day: date, tz: TzLike) -> tuple[datetime, datetime]:
    """The UTC instants at which local ``day`` starts and the next local day starts."""
    zi = _tz(tz)
    start = datetime.combine(day, time(0, 0), tzinfo=zi)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), tzinfo=zi)
    return start.astimezone(UTC), end.astimezone(UTC)


def tz_label(dt: datetime | None, tz: TzLike) -> str:
    """The zone abbreviation in force at ``dt`` (EST, EDT, UTC), or the zone's name."""
    zi = _tz(tz)
    local = to_local(dt or datetime.now(UTC), zi)
    assert local is not None
    return local.tzname() or zi.key
