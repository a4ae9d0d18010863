"""Date checks for every date a user can store or search (``domain.dates``: one range).

``SaneDate``/``SaneDateTime``/``SaneAwareDateTime`` are pydantic types (a 422 naming the
field); ``check_date`` and ``parse_day`` serve form and query values.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, TypeVar

from pydantic import AfterValidator, AwareDatetime

from ketacare.domain.dates import out_of_range
from ketacare.features._kit.errors import BadRequest

_D = TypeVar("_D", date, datetime)


def check_date(value: _D, field: str) -> _D:
    """``value`` if it is within the accepted range, else BadRequest naming ``field``."""
    reason = out_of_range(value)
    if reason:
        raise BadRequest(reason, field)
    return value


def parse_day(text: str, field: str) -> date:
    """A YYYY-MM-DD value within the accepted range, else BadRequest naming ``field``."""
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise BadRequest("must be a date as YYYY-MM-DD", field) from None
    return check_date(day, field)


def _in_range(value: _D) -> _D:
    reason = out_of_range(value)
    if reason:
        raise ValueError(reason)
    return value


#: A date within the accepted range (pydantic: a 422 naming the field).
SaneDate = Annotated[date, AfterValidator(_in_range)]
#: A datetime within the accepted range.
SaneDateTime = Annotated[datetime, AfterValidator(_in_range)]
#: A datetime with a time zone within the accepted range.
SaneAwareDateTime = Annotated[AwareDatetime, AfterValidator(_in_range)]
