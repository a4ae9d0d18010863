"""Creating, finding and changing patient records (flush, never commit)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.features._kit.errors import BadRequest, KetacareError, NotFound
from ketacare.features.patients.models import Patient, Sex

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class DuplicateMrn(KetacareError):
    """Another patient of the clinic has this record number (409; the number is not logged)."""

    status_code = 409

    def __init__(self) -> None:
        super().__init__("is already used by another patient of this clinic", "mrn")


@dataclass(frozen=True, slots=True)
class PatientInput:
    """Fields a clinic enters for a patient (strings as typed in a form or sent as JSON)."""

    given_name: str
    family_name: str
    birth_date: str = ""
    sex: str = "unknown"
    mrn: str = ""
    email: str = ""
    phone: str = ""


@dataclass(frozen=True, slots=True)
class CleanPatient:
    """Validated patient fields."""

    given_name: str
    family_name: str
    birth_date: date | None
    sex: Sex
    mrn: str | None
    email: str
    phone: str


def validate(
    data: PatientInput, today: date | None = None
) -> tuple[CleanPatient | None, dict[str, str]]:
    """Check the fields; return the clean record or ``{field: reason}``."""
    today = today or date.today()
    problems: dict[str, str] = {}
    given, family = data.given_name.strip(), data.family_name.strip()
    if not given:
        problems["given_name"] = "is required"
    if not family:
        problems["family_name"] = "is required"
    for name, value in (("given_name", given), ("family_name", family)):
        if len(value) > 100:
            problems[name] = "must be at most 100 characters"
    birth: date | None = None
    if data.birth_date.strip():
        try:
            birth = date.fromisoformat(data.birth_date.strip())
        except ValueError:
            problems["birth_date"] = "must be a date as YYYY-MM-DD"
        else:
            if birth > today:
                problems["birth_date"] = "must not be in the future"
            elif today.year - birth.year > 120:
                problems["birth_date"] = "gives an age over 120 years"
    try:
        sex = Sex(data.sex.strip() or "unknown")
    except ValueError:
        problems["sex"] = "must be one of female, male, other, unknown"
        sex = Sex.unknown
    email = data.email.strip()
    if email and not EMAIL_RE.match(email):
        problems["email"] = "is not a valid email address"
    if len(data.mrn.strip()) > 64:
        problems["mrn"] = "must be at most 64 characters"
    if len(data.phone.strip()) > 40:
        problems["phone"] = "must be at most 40 characters"
    if problems:
        return None, problems
    clean = CleanPatient(
        given, family, birth, sex, data.mrn.strip() or None, email, data.phone.strip()
    )
    return clean, {}


class PossibleDuplicate(KetacareError):
    """A patient with the same name and birth date exists and no record number tells them
    apart: staff must confirm (``confirm_duplicate``) that this is a different person."""

    status_code = 409

    def __init__(self, matches: list[Patient]) -> None:
        ids = ", ".join(str(p.id) for p in matches)
        super().__init__(
            f"a patient with this name and date of birth already exists (id {ids}); open that "
            "record, or confirm that this is a different person",
            "confirm_duplicate",
        )
        self.matches = matches


def possible_duplicates(db: Session, clinic_id: int, clean: CleanPatient) -> list[Patient]:
    """Patients of the clinic with the same name (any case) and birth date; none when the new
    record has a record number of its own or no birth date."""
    if clean.mrn or clean.birth_date is None:
        return []
    stmt = (
        select(Patient)
        .where(
            Patient.clinic_id == clinic_id,
            Patient.birth_date == clean.birth_date,
            func.lower(Patient.given_name) == clean.given_name.lower(),
            func.lower(Patient.family_name) == clean.family_name.lower(),
        )
        .order_by(Patient.id)
        .limit(10)
    )
    return list(db.execute(stmt).scalars())


def create_patient(
    db: Session, clinic_id: int, data: PatientInput, confirm_duplicate: bool = False
) -> Patient:
    """Store a new patient in the clinic (BadRequest names the first bad field;
    PossibleDuplicate, 409, unless ``confirm_duplicate``, when the same person may exist)."""
    clean, problems = validate(data)
    if clean is None:
        field, reason = next(iter(problems.items()))
        raise BadRequest(reason, field)
    if not confirm_duplicate:
        matches = possible_duplicates(db, clinic_id, clean)
        if matches:
            raise PossibleDuplicate(matches)
    if (
        clean.mrn
        and db.execute(
            select(Patient.id).where(Patient.clinic_id == clinic_id, Patient.mrn == clean.mrn)
        ).first()
    ):
        raise DuplicateMrn()
    patient = Patient(
        clinic_id=clinic_id,
        given_name=clean.given_name,
        family_name=clean.family_name,
        birth_date=clean.birth_date,
        sex=clean.sex,
        mrn=clean.mrn,
        email=clean.email,
        phone=clean.phone,
    )
    try:
        # A savepoint: a concurrent request that stored the same number first makes this
        # insert fail on the unique constraint (PostgreSQL); answer 409, not 500.
        with db.begin_nested():
            db.add(patient)
    except IntegrityError:
        raise DuplicateMrn() from None
    return patient


_GET = select(Patient).where(
    Patient.id == bindparam("id"), Patient.clinic_id == bindparam("clinic")
)


def get_patient(db: Session, clinic_id: int, patient_id: int) -> Patient:
    """A patient of this clinic, or NotFound (also for another clinic's patients)."""
    patient = db.execute(_GET, {"id": patient_id, "clinic": clinic_id}).scalar_one_or_none()
    if patient is None:
        raise NotFound("no such patient")
    return patient


def list_patients(db: Session, clinic_id: int, query: str = "", limit: int = 500) -> list[Patient]:
    """Patients of the clinic by name, optionally filtered by name or MRN."""
    stmt = select(Patient).where(Patient.clinic_id == clinic_id)
    q = query.strip()
    if q:
        like = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(
                Patient.family_name.ilike(like),
                Patient.given_name.ilike(like),
                Patient.mrn.ilike(like),
            )
        )
    stmt = stmt.order_by(Patient.family_name, Patient.given_name, Patient.id).limit(limit)
    return list(db.execute(stmt).scalars())
