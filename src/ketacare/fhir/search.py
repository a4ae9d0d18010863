"""FHIR search parameter parsing (pure): references, tokens and date prefixes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ketacare.domain.errors import InvalidAnswer
from ketacare.fhir.reader import MAX_YEAR, MIN_YEAR

Bound = tuple[str, datetime]  # ("ge" | "lt", instant): all bounds are ANDed


def patient_id(value: str, param: str = "patient") -> int:
    """``Patient/12`` or ``12`` -> 12."""
    raw = value.strip().removeprefix("Patient/")
    # ASCII only: str.isdigit() is also true of "²" and "١٢", which int() refuses or reads.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= 2_147_483_647:
        raise InvalidAnswer(param, f"{value!r} is not a ketacare Patient reference")
    return int(raw)


def tokens(value: str) -> list[tuple[str | None, str]]:
    """``[system|]code`` tokens, comma-separated (OR)."""
    out: list[tuple[str | None, str]] = []
    for part in value.split(","):
        part = part.strip()
        if not part:
            continue
        if "|" in part:
            system, code = part.split("|", 1)
            out.append((system or None, code))
        else:
            out.append((None, part))
    return out


def _span(raw: str, param: str) -> tuple[datetime, datetime]:
    """The instants ``[start, end)`` a date or dateTime value covers (years of domain.dates)."""
    if raw[:4].isascii() and raw[:4].isdigit():
        _in_range(int(raw[:4]), raw, param)
    try:
        if len(raw) == 4:
            start = datetime(int(raw), 1, 1, tzinfo=UTC)
            return start, start.replace(year=start.year + 1)
        if len(raw) == 7:
            y, m = int(raw[:4]), int(raw[5:7])
            start = datetime(y, m, 1, tzinfo=UTC)
            return start, (
                start.replace(year=y + 1, month=1) if m == 12 else start.replace(month=m + 1)
            )
        if len(raw) == 10:
            start = datetime.fromisoformat(raw).replace(tzinfo=UTC)
            return start, start + timedelta(days=1)
        dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidAnswer(param, f"{raw!r} is not a FHIR date or dateTime") from None
    if dt.tzinfo is None:
        raise InvalidAnswer(param, f"{raw!r} needs a time zone")
    _in_range(dt.year, raw, param)
    dt = dt.astimezone(UTC)
    return dt, dt + timedelta(seconds=1)


def _in_range(year: int, raw: str, param: str) -> None:
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidAnswer(param, f"{raw!r} is outside the years {MIN_YEAR}-{MAX_YEAR}")


def date_bounds(values: list[str], param: str = "date") -> list[Bound]:
    """Bounds for ``date``-type parameters with prefixes eq, lt, le, gt, ge (repeatable)."""
    out: list[Bound] = []
    for value in values:
        prefix, raw = (value[:2], value[2:]) if value[:2].isalpha() else ("eq", value)
        start, end = _span(raw, param)
        if prefix == "eq":
            out += [("ge", start), ("lt", end)]
        elif prefix == "ge":
            out.append(("ge", start))
        elif prefix == "gt":
            out.append(("ge", end))
        elif prefix == "le":
            out.append(("lt", end))
        elif prefix == "lt":
            out.append(("lt", start))
        else:
            raise InvalidAnswer(param, f"prefix {prefix!r} is not supported (eq, lt, le, gt, ge)")
    return out


def within(value: datetime, bounds: list[Bound]) -> bool:
    """True when ``value`` satisfies every bound."""
    return all(value >= at if op == "ge" else value < at for op, at in bounds)
