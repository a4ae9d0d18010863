"""Columnar inputs of the clinic analytics: assessments, sessions and patient attributes.

The analytics work on plain arrays so that the same code serves an exported CSV file, a
database query and a synthetic clinic of a million patients. Times are ``datetime64[s]``; a
date without a time of day is midnight, so an assessment dated on the day of the first
session counts as before it (the baseline), as in
:func:`ketacare.domain.mbc.outcomes.select_baseline`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ketacare.domain.errors import DomainError

__all__ = ["AssessmentTable", "PatientTable", "SessionTable", "as_seconds"]

F64 = NDArray[np.float64]
Times = NDArray[np.datetime64]


def as_seconds(when: ArrayLike) -> Times:
    """Convert dates, datetimes or ISO strings to a ``datetime64[s]`` array.

    Raises
    ------
    DomainError
        When a value is not a date/time or is missing (NaT).
    """
    try:
        out: Times = np.asarray(when, dtype="datetime64[s]")
    except (ValueError, TypeError) as exc:
        raise DomainError(f"not a date or time: {exc}") from None
    if out.ndim != 1:
        out = out.ravel()
    if out.size and np.isnat(out).any():
        raise DomainError(f"missing date at row {int(np.flatnonzero(np.isnat(out))[0])}")
    return out


def _ids(patient_id: ArrayLike) -> NDArray[Any]:
    ids = np.asarray(patient_id)
    if ids.ndim != 1:
        ids = ids.ravel()
    if ids.dtype == object:
        # Mixed or Python-str ids: compare as text so np.unique and searchsorted work.
        ids = ids.astype(str)
    return ids


def _same_length(name: str, **cols: NDArray[Any]) -> None:
    sizes = {k: v.shape[0] for k, v in cols.items()}
    if len(set(sizes.values())) > 1:
        raise DomainError(f"{name}: columns differ in length {sizes}")


@dataclass(frozen=True, slots=True)
class AssessmentTable:
    """Scored administrations of **one** instrument, one row per administration.

    Attributes
    ----------
    instrument : str
        Instrument id (``"phq9"``, ``"madrs"``, ``"qids-sr16"``, ``"hamd17"`` ...).
    patient_id : NDArray
        Patient identifiers (integers or strings), any order.
    when : NDArray[np.datetime64]
        Time of the administration, ``datetime64[s]``.
    total : NDArray[np.float64]
        Total score, instrument points.
    """

    instrument: str
    patient_id: NDArray[Any]
    when: Times
    total: F64

    @classmethod
    def from_arrays(
        cls, instrument: str, patient_id: ArrayLike, when: ArrayLike, total: ArrayLike
    ) -> AssessmentTable:
        """Build and validate (equal lengths, finite totals, valid times)."""
        ids, t = _ids(patient_id), as_seconds(when)
        tot = np.asarray(total, dtype=np.float64).ravel()
        _same_length("assessments", patient_id=ids, when=t, total=tot)
        if tot.size and not np.isfinite(tot).all():
            raise DomainError(f"assessments: total is not finite at row {_first_bad(tot)}")
        return cls(instrument, ids, t, tot)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]], instrument: str) -> AssessmentTable:
        """Build from records with keys ``patient_id``, ``date``, ``instrument``, ``total``,
        keeping the rows of ``instrument`` only."""
        rows = [r for r in records if r["instrument"] == instrument]
        return cls.from_arrays(
            instrument,
            np.array([r["patient_id"] for r in rows]),
            [_dt(r["date"]) for r in rows],
            [float(r["total"]) for r in rows],
        )

    def __len__(self) -> int:
        return int(self.total.size)


@dataclass(frozen=True, slots=True)
class SessionTable:
    """Treatment sessions (infusions, nasal-spray sessions), one row per session.

    Attributes
    ----------
    patient_id : NDArray
        Patient identifiers, same kind as in :class:`AssessmentTable`.
    when : NDArray[np.datetime64]
        Start of the session, ``datetime64[s]``.
    protocol : NDArray[np.str_]
        Protocol id of the session (e.g. ``"iv-ketamine-induction"``).
    """

    patient_id: NDArray[Any]
    when: Times
    protocol: NDArray[np.str_]

    @classmethod
    def from_arrays(
        cls, patient_id: ArrayLike, when: ArrayLike, protocol: ArrayLike
    ) -> SessionTable:
        """Build and validate (equal lengths, valid times)."""
        ids, t = _ids(patient_id), as_seconds(when)
        proto = np.asarray(protocol).astype(str).ravel()
        if proto.size == 1 and ids.size != 1:
            proto = np.full(ids.shape, proto[0])
        _same_length("sessions", patient_id=ids, when=t, protocol=proto)
        return cls(ids, t, proto)

    @classmethod
    def from_records(cls, records: Iterable[Mapping[str, Any]]) -> SessionTable:
        """Build from records with keys ``patient_id``, ``date``, ``protocol``."""
        rows = list(records)
        return cls.from_arrays(
            np.array([r["patient_id"] for r in rows]),
            [_dt(r["date"]) for r in rows],
            np.array([str(r["protocol"]) for r in rows], dtype=str),
        )

    def __len__(self) -> int:
        return int(self.when.size)


@dataclass(frozen=True, slots=True)
class PatientTable:
    """Optional patient attributes used for breakdowns.

    Attributes
    ----------
    patient_id : NDArray
        Patient identifiers (unique).
    sex : NDArray[np.str_]
        Recorded sex (free text such as ``"female"``; empty string when unknown).
    age_years : NDArray[np.float64]
        Age at the first session, years (NaN when unknown).
    """

    patient_id: NDArray[Any]
    sex: NDArray[np.str_]
    age_years: F64

    @classmethod
    def from_arrays(
        cls, patient_id: ArrayLike, sex: ArrayLike, age_years: ArrayLike
    ) -> PatientTable:
        """Build and validate (equal lengths, unique ids, ages in [0, 130] or NaN)."""
        ids = _ids(patient_id)
        sx = np.asarray(sex).astype(str).ravel()
        age = np.asarray(age_years, dtype=np.float64).ravel()
        _same_length("patients", patient_id=ids, sex=sx, age_years=age)
        if np.unique(ids).size != ids.size:
            raise DomainError("patients: patient_id values must be unique")
        bad = ~np.isnan(age) & ((age < 0) | (age > 130))
        if bad.any():
            raise DomainError(f"patients: age out of range at row {int(np.flatnonzero(bad)[0])}")
        return cls(ids, sx, age)


def _first_bad(a: F64) -> int:
    return int(np.flatnonzero(~np.isfinite(a))[0])


def _dt(value: Any) -> np.datetime64:
    if isinstance(value, datetime | date):
        return np.datetime64(value, "s")
    if isinstance(value, str):
        try:
            return np.datetime64(value, "s")
        except ValueError:
            raise DomainError(f"not an ISO date or time: {value!r}") from None
    raise DomainError(f"not a date or time: {value!r}")
