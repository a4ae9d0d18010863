"""Research CSV export of assessments and sessions, optionally de-identified.

De-identified rows drop direct identifiers (names, MRN, email, phone, birth date, ketacare
ids), replace the patient with a keyed pseudonym, and shift every date of a patient by the
same offset of -182..+182 days (never 0). Pseudonym and offset are HMAC-SHA256 of the
patient id under the installation's secret key: stable across exports of one installation,
not guessable without the key. Ages are kept (top-coded at 90).
"""

from __future__ import annotations

import csv
import hashlib
import hmac
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, TextIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.assessments.models import Assessment
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.models import TreatmentSession

MAX_SHIFT_DAYS = 182


@dataclass(frozen=True, slots=True)
class Deidentifier:
    """Keyed pseudonyms and per-patient date shifts."""

    secret: bytes

    def _digest(self, purpose: str, patient_id: int) -> bytes:
        return hmac.new(self.secret, f"{purpose}:{patient_id}".encode(), hashlib.sha256).digest()

    def pseudonym(self, patient_id: int) -> str:
        """A stable, unguessable stand-in for the patient."""
        return "P" + self._digest("research-pseudonym", patient_id).hex()[:12]

    def shift(self, patient_id: int) -> timedelta:
        """The patient's date offset: 1..182 days earlier or later, never 0."""
        n = int.from_bytes(self._digest("research-date-shift", patient_id)[:8], "big")
        days = n % MAX_SHIFT_DAYS + 1
        return timedelta(days=days if (n >> 32) & 1 else -days)


def _age(birth: date | None, on: date) -> str:
    if birth is None:
        return ""
    age = on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
    return "90+" if age >= 90 else str(age)


def _iso(value: datetime | None, shift: timedelta) -> str:
    return (value + shift).isoformat() if value is not None else ""


ASSESSMENT_COLUMNS = (
    "patient",
    "mrn",
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "age",
    "instrument",
    "version",
    "total",
    "band",
    "flags",
    "source",
    "imported_total",
    "completed_at",
)
SESSION_COLUMNS = (
    "patient",
    "mrn",
    "given_name",
    "family_name",
    "birth_date",
    "sex",
    "age",
    "session",
    "route",
    "product",
    "planned_dose_mg",
    "given_dose_mg",
    "dose_start",
    "dose_end",
    "status",
)
DIRECT_IDENTIFIERS = ("mrn", "given_name", "family_name", "birth_date")


def columns(kind: str, deidentified: bool) -> tuple[str, ...]:
    """The CSV header of ``kind`` (assessments or sessions)."""
    cols = ASSESSMENT_COLUMNS if kind == "assessments" else SESSION_COLUMNS
    return tuple(c for c in cols if not (deidentified and c in DIRECT_IDENTIFIERS))


def _person(p: Patient, on: date, deid: Deidentifier | None) -> dict[str, Any]:
    if deid is not None:
        return {"patient": deid.pseudonym(p.id), "sex": p.sex.value, "age": _age(p.birth_date, on)}
    return {
        "patient": p.id,
        "mrn": p.mrn or "",
        "given_name": p.given_name,
        "family_name": p.family_name,
        "birth_date": p.birth_date.isoformat() if p.birth_date else "",
        "sex": p.sex.value,
        "age": _age(p.birth_date, on),
    }


def rows(
    db: Session, clinic_id: int, kind: str, deid: Deidentifier | None
) -> Iterator[tuple[dict[str, Any], int]]:
    """Rows of ``kind`` for the clinic (with their patient's id), oldest first per patient."""
    if kind == "assessments":
        for a, p in db.execute(
            select(Assessment, Patient)
            .join(Patient, Patient.id == Assessment.patient_id)
            .where(Assessment.clinic_id == clinic_id)
            .order_by(Patient.id, Assessment.completed_at, Assessment.id)
        ).all():
            shift = deid.shift(p.id) if deid else timedelta(0)
            yield (
                {
                    **_person(p, a.completed_at.date(), deid),
                    "instrument": a.instrument_id,
                    "version": a.instrument_version,
                    "total": "" if a.total is None else a.total,
                    "band": a.band or "",
                    "flags": " ".join(a.flags),
                    "source": a.source.value,
                    "imported_total": "yes" if not a.answers else "no",
                    "completed_at": _iso(a.completed_at, shift),
                },
                p.id,
            )
    elif kind == "sessions":
        current, seq = (
            0,
            dict[int, int](),
        )  # de-identified sessions are numbered 1, 2, ... per patient
        for s, p in db.execute(
            select(TreatmentSession, Patient)
            .join(Patient, Patient.id == TreatmentSession.patient_id)
            .where(TreatmentSession.clinic_id == clinic_id)
            .order_by(Patient.id, TreatmentSession.created_at, TreatmentSession.id)
        ).all():
            shift = deid.shift(p.id) if deid else timedelta(0)
            if p.id != current:
                current, seq = p.id, dict[int, int]()
            on = (s.dose_start or s.created_at).date()
            yield (
                {
                    **_person(p, on, deid),
                    "session": seq.setdefault(s.id, len(seq) + 1) if deid else s.id,
                    "route": s.route,
                    "product": s.product,
                    "planned_dose_mg": "" if s.planned_dose_mg is None else s.planned_dose_mg,
                    "given_dose_mg": "" if s.given_dose_mg is None else s.given_dose_mg,
                    "dose_start": _iso(s.dose_start, shift),
                    "dose_end": _iso(s.dose_end, shift),
                    "status": s.status.value,
                },
                p.id,
            )
    else:
        raise ValueError(f"unknown export {kind!r}: assessments or sessions")


#: A cell starting with one of these is a formula in Excel, LibreOffice and Google Sheets.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """A text cell that a spreadsheet would run as a formula, prefixed with ``'`` (OWASP CSV
    injection); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(
    db: Session, clinic_id: int, kind: str, out: TextIO, deid: Deidentifier | None
) -> tuple[int, list[int]]:
    """Write the CSV; return the number of rows and the ids of the patients in it."""
    writer = csv.DictWriter(out, fieldnames=columns(kind, deid is not None), lineterminator="\n")
    writer.writeheader()
    n = 0
    patients: set[int] = set()
    for row, patient_id in rows(db, clinic_id, kind, deid):
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
        patients.add(patient_id)
        n += 1
    return n, sorted(patients)
