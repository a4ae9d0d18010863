"""Read exported CSV files into the analytics tables; errors name the file, line and column."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime
from pathlib import Path

import numpy as np

from ketacare.domain.analytics import (
    AssessmentTable,
    PatientTable,
    PublishedRate,
    SessionTable,
    parse_published_rates,
)
from ketacare.domain.errors import DomainError
from ketacare.domain.instruments import get_instrument

__all__ = [
    "PUBLISHED_FILES",
    "CohortFileError",
    "load_published_rates",
    "read_assessments",
    "read_patients",
    "read_sessions",
]

#: Published tables compared by default (see the clinical reference §7).
PUBLISHED_FILES = ("ketamine_response_rates.csv", "esketamine_trials.csv")
_BLANK = {"", "na", "NA", "-"}


class CohortFileError(ValueError):
    """A problem in an input file, located by file, line (1 = header) and column."""

    def __init__(self, path: Path, line: int, column: str | None, reason: str) -> None:
        where = f"{path}:{line}" + (f": column '{column}'" if column else "")
        super().__init__(f"{where}: {reason}")
        self.path, self.line, self.column, self.reason = path, line, column, reason


def _rows(path: Path, required: Sequence[str]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CohortFileError(path, 0, None, f"cannot read ({exc.strerror})") from None
    with handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise CohortFileError(
                path, 1, missing[0], f"missing column (header has: {', '.join(header) or 'none'})"
            )
        reader.fieldnames = header
        try:
            for row in reader:
                if None in row:
                    raise CohortFileError(path, reader.line_num, None, "more fields than columns")
                yield reader.line_num, {k: (v or "").strip() for k, v in row.items()}
        except csv.Error as exc:
            raise CohortFileError(path, reader.line_num, None, f"bad CSV ({exc})") from None


def _when(path: Path, line: int, column: str, text: str) -> datetime:
    try:
        if len(text) == 10:
            return datetime.combine(date.fromisoformat(text), datetime.min.time())
        value = datetime.fromisoformat(text)
    except ValueError:
        raise CohortFileError(
            path, line, column, f"not an ISO date (YYYY-MM-DD or YYYY-MM-DDTHH:MM): {text!r}"
        ) from None
    if value.tzinfo is not None:  # compare in UTC, then drop the offset
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _required(path: Path, line: int, column: str, text: str) -> str:
    if text in _BLANK:
        raise CohortFileError(path, line, column, "empty")
    return text


def read_assessments(path: Path, instrument: str) -> AssessmentTable:
    """Rows of ``instrument`` from a file with ``patient_id, date, instrument, total``.

    Totals must be numbers inside the instrument's range; other instruments are skipped.
    """
    inst = get_instrument(instrument)
    lo, hi = inst.range if inst.range is not None else (-math.inf, math.inf)
    ids: list[str] = []
    times: list[datetime] = []
    totals: list[float] = []
    for line, row in _rows(path, ("patient_id", "date", "instrument", "total")):
        if row["instrument"].lower() != instrument:
            continue
        ids.append(_required(path, line, "patient_id", row["patient_id"]))
        times.append(_when(path, line, "date", _required(path, line, "date", row["date"])))
        text = _required(path, line, "total", row["total"])
        try:
            total = float(text)
        except ValueError:
            raise CohortFileError(path, line, "total", f"not a number: {text!r}") from None
        if not lo <= total <= hi:
            raise CohortFileError(
                path, line, "total", f"{total:g} is outside the {inst.short_name} range {lo}-{hi}"
            )
        totals.append(total)
    return AssessmentTable.from_arrays(
        instrument, np.array(ids, dtype=str), np.array(times, dtype="datetime64[s]"), totals
    )


def read_sessions(path: Path) -> SessionTable:
    """Sessions from a file with ``patient_id, date, protocol``."""
    ids: list[str] = []
    times: list[datetime] = []
    protocols: list[str] = []
    for line, row in _rows(path, ("patient_id", "date", "protocol")):
        ids.append(_required(path, line, "patient_id", row["patient_id"]))
        times.append(_when(path, line, "date", _required(path, line, "date", row["date"])))
        protocols.append(_required(path, line, "protocol", row["protocol"]))
    if not ids:
        raise CohortFileError(path, 1, None, "no sessions")
    return SessionTable.from_arrays(
        np.array(ids, dtype=str), np.array(times, dtype="datetime64[s]"), np.array(protocols)
    )


def read_patients(path: Path) -> PatientTable:
    """Patient attributes from a file with ``patient_id, sex, age`` (age in years at the
    first session; blank when unknown)."""
    ids: list[str] = []
    sexes: list[str] = []
    ages: list[float] = []
    seen: set[str] = set()
    for line, row in _rows(path, ("patient_id", "sex", "age")):
        pid = _required(path, line, "patient_id", row["patient_id"])
        if pid in seen:
            raise CohortFileError(path, line, "patient_id", f"duplicate patient {pid!r}")
        seen.add(pid)
        ids.append(pid)
        sexes.append("" if row["sex"] in _BLANK else row["sex"])
        text = row["age"]
        try:
            age = math.nan if text in _BLANK else float(text)
        except ValueError:
            raise CohortFileError(path, line, "age", f"not a number: {text!r}") from None
        if not math.isnan(age) and not 0 <= age <= 130:
            raise CohortFileError(path, line, "age", f"{age:g} is not an age in years")
        ages.append(age)
    return PatientTable.from_arrays(np.array(ids, dtype=str), np.array(sexes, dtype=str), ages)


def load_published_rates(
    directory: Path, names: Sequence[str] = PUBLISHED_FILES
) -> list[PublishedRate]:
    """Read published-rate tables (``shared/data/published/`` layout) from ``directory``."""
    out: list[PublishedRate] = []
    for name in names:
        path = directory / name
        try:
            with path.open(newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
        except OSError as exc:
            raise CohortFileError(path, 0, None, f"cannot read ({exc.strerror})") from None
        try:
            out.extend(parse_published_rates(rows, str(path)))
        except DomainError as exc:
            raise CohortFileError(path, 0, None, str(exc)) from None
    return out
