"""FHIR search parameter parsing (pure): references, tokens, date prefixes, unknown
parameters (``Prefer: handling``) and paging (``_count``, ``_offset``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

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
    """The instants ``[start, end)`` a date or dateTime value covers (years 1900-2200)."""
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


#: Page size when ``_count`` is absent, and the largest page served.
DEFAULT_COUNT, MAX_COUNT = 100, 1000
#: Deepest ``_offset`` served (deeper pages: narrow the search with ``date``).
MAX_OFFSET = 1_000_000
#: Parameters of every search: paging, and ``_format`` (JSON is the only format served).
RESULT_PARAMS = frozenset({"_count", "_offset", "_format"})


class UnknownParameter(InvalidAnswer):
    """A search parameter ketacare does not support, under ``Prefer: handling=strict``."""


@dataclass(frozen=True)
class SearchRequest:
    """The parameters a search uses (name -> values, in order), the ones it ignored (only
    under ``Prefer: handling=lenient``) and the page asked for."""

    params: dict[str, list[str]]
    ignored: tuple[str, ...]
    count: int
    offset: int

    def values(self, name: str) -> list[str]:
        """Every value of ``name`` (repeated parameters are ANDed)."""
        return self.params.get(name, [])


def handling(prefer: str | None) -> str:
    """``strict`` or ``lenient`` from a ``Prefer`` header (FHIR R4 search §3.1.1.4.8 / RFC
    7240); ketacare's default is strict: a search that silently drops a filter answers more
    patients' data than asked for."""
    for part in (prefer or "").replace(";", ",").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "handling" and value.strip().strip('"').lower() == "lenient":
            return "lenient"
    return "strict"


def _bounded(values: list[str], param: str, low: int, high: int, default: int) -> int:
    if not values:
        return default
    raw = values[-1].strip()
    if len(values) > 1 or not (raw.isascii() and raw.isdigit()) or not low <= int(raw) <= high:
        raise InvalidAnswer(param, f"must be one whole number from {low} to {high}")
    return int(raw)


def read_search(
    items: list[tuple[str, str]], known: frozenset[str], prefer: str | None
) -> SearchRequest:
    """Split a query string into the parameters used and those ignored.

    Raises
    ------
    UnknownParameter
        A parameter outside ``known`` (and :data:`RESULT_PARAMS`) under strict handling.
    InvalidAnswer
        ``_count`` outside 1..MAX_COUNT or ``_offset`` outside 0..MAX_OFFSET.
    """
    params: dict[str, list[str]] = {}
    ignored: list[str] = []
    strict = handling(prefer) == "strict"
    for name, value in items:
        if name in known or name in RESULT_PARAMS:
            params.setdefault(name, []).append(value)
        elif strict:
            supported = ", ".join(sorted(known | RESULT_PARAMS))
            raise UnknownParameter(
                name,
                f"is not a supported search parameter here (supported: {supported}; send "
                "'Prefer: handling=lenient' to have unknown parameters ignored)",
            )
        elif name not in ignored:
            ignored.append(name)
    fmt = params.get("_format", [])
    if any(v not in ("json", "application/json", "application/fhir+json") for v in fmt):
        raise InvalidAnswer("_format", "only JSON is served (json, application/fhir+json)")
    count = _bounded(params.get("_count", []), "_count", 1, MAX_COUNT, DEFAULT_COUNT)
    offset = _bounded(params.get("_offset", []), "_offset", 0, MAX_OFFSET, 0)
    return SearchRequest(params, tuple(ignored), count, offset)


def id_values(values: list[str]) -> set[str] | None:
    """``_id`` values (comma = OR; repeated = AND), or None when ``_id`` is absent."""
    out: set[str] | None = None
    for value in values:
        ids = {v.strip() for v in value.split(",") if v.strip()}
        out = ids if out is None else out & ids
    return out


def numbered(ids: set[str] | None, prefix: str) -> set[int] | None:
    """The row ids of resource ids ``<prefix><n>...`` (``score-12`` -> 12); None: any."""
    if ids is None:
        return None
    out = set()
    for rid in ids:
        if rid.startswith(prefix):
            digits = rid[len(prefix) :].split("-", 1)[0]
            if digits.isascii() and digits.isdigit() and int(digits) <= 2_147_483_647:
                out.add(int(digits))
    return out


def page_url(base: str, rtype: str, request: SearchRequest, offset: int) -> str:
    """The URL of the page at ``offset`` of the same search (the parameters used only)."""
    items = [(k, v) for k, vs in request.params.items() if k != "_offset" for v in vs]
    if "_count" not in request.params:
        items.append(("_count", str(request.count)))
    items.append(("_offset", str(offset)))
    return f"{base.rstrip('/')}/{rtype}?{urlencode(items)}"
