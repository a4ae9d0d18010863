"""The range of dates ketacare stores or searches (one rule, shared by every input).

A date outside it is a typing mistake (``0202-01-01``, ``9999-12-31``), never a clinical
fact, and near the ends of Python's calendar it breaks date arithmetic (``9999-12-31`` plus
one day overflows). Rule ``dates.range``; source: ketacare convention.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

#: The earliest date accepted anywhere (birth dates of the oldest living patients fit).
EARLIEST = date(1900, 1, 1)
#: The latest date accepted anywhere (plans, schedules and searches far beyond any course).
LATEST = date(2200, 12, 31)
RULE_ID = "dates.range"


def out_of_range(value: date | datetime) -> str | None:
    """The reason ``value`` is refused, or None when it is within EARLIEST..LATEST."""
    if isinstance(value, datetime):
        try:
            day = value.astimezone(UTC).date() if value.tzinfo is not None else value.date()
        except OverflowError:  # year 1 at +14:00 is before Python's first instant in UTC
            return f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}"
    else:
        day = value
    if day < EARLIEST or day > LATEST:
        return f"must be between {EARLIEST.isoformat()} and {LATEST.isoformat()}"
    return None
