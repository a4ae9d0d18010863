"""Creating, finding and changing patient records (flush, never commit).

The use cases that staff call (``find_patients``, ``open_patient``, ``add_patient``) take the
:class:`~ketacare.features.auth.actor.Actor` and audit themselves; ``create_patient`` is the
unaudited step other features (lead conversion, demo data) build on. Queries live in
:mod:`ketacare.features.patients.queries`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.domain.dates import out_of_range
from ketacare.features._kit.errors import BadRequest, KetacareError
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.patients.models import (
    AllergySeverity,
    Patient,
    PatientAllergy,
    PatientMedication,
    Sex,
)
from ketacare.features.patients.queries import (
    current_allergies,
    current_medications,
    get_allergy,
    get_medication,
    get_patient_counting_alerts,
    mrn_taken,
    open_alert_count,
    same_person,
)
from ketacare.features.patients.queries import get_patient as get_patient  # re-exported
from ketacare.features.patients.queries import list_patients as list_patients  # re-exported

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
    address_line: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""


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
    address: Address


#: USPS codes of the states, DC and the territories (a patient's ``state``).
US_STATES = frozenset((
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL",
    "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE",
    "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD",
    "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "AS", "GU", "MP", "PR", "VI",
))  # fmt: skip
POSTAL_RE = re.compile(r"^[0-9]{5}(-[0-9]{4})?$")
ADDRESS_LIMITS = {"address_line": 200, "city": 100}


@dataclass(frozen=True, slots=True)
class Address:
    """A patient's postal address; every part optional ("" when not known)."""

    address_line: str = ""
    city: str = ""
    state: str = ""
    postal_code: str = ""


def validate_address(
    address_line: str, city: str, state: str, postal_code: str
) -> tuple[Address, dict[str, str]]:
    """Trim and check the address parts; ``{field: reason}`` for those that are wrong."""
    problems: dict[str, str] = {}
    parts = {"address_line": " ".join(address_line.split()), "city": " ".join(city.split())}
    for name, limit in ADDRESS_LIMITS.items():
        if len(parts[name]) > limit:
            problems[name] = f"must be at most {limit} characters"
        elif any(ord(ch) < 32 for ch in parts[name]):
            problems[name] = "must not contain control characters"
    st = state.strip().upper()
    if st and st not in US_STATES:
        problems["state"] = "must be a two-letter US state code (e.g. TN)"
    postal = postal_code.strip()
    if postal and not POSTAL_RE.match(postal):
        problems["postal_code"] = "must be a ZIP code: 12345 or 12345-6789"
    return Address(parts["address_line"], parts["city"], st, postal), problems


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
    address, wrong = validate_address(data.address_line, data.city, data.state, data.postal_code)
    problems.update(wrong)
    if problems:
        return None, problems
    clean = CleanPatient(
        given, family, birth, sex, data.mrn.strip() or None, email, data.phone.strip(), address
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
    return same_person(db, clinic_id, clean.given_name, clean.family_name, clean.birth_date)


def create_patient(
    db: Session,
    clinic_id: int,
    data: PatientInput,
    confirm_duplicate: bool = False,
    today: date | None = None,
) -> Patient:
    """Store a new patient in the clinic (BadRequest names the first bad field;
    PossibleDuplicate, 409, unless ``confirm_duplicate``, when the same person may exist).
    Not audited: the caller's use case is (``add_patient``, a lead's conversion)."""
    clean, problems = validate(data, today)
    if clean is None:
        field, reason = next(iter(problems.items()))
        raise BadRequest(reason, field)
    if not confirm_duplicate:
        matches = possible_duplicates(db, clinic_id, clean)
        if matches:
            raise PossibleDuplicate(matches)
    if clean.mrn and mrn_taken(db, clinic_id, clean.mrn):
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
        address_line=clean.address.address_line,
        city=clean.address.city,
        state=clean.address.state,
        postal_code=clean.address.postal_code,
    )
    try:
        # A savepoint: a concurrent request that stored the same number first makes this
        # insert fail on the unique constraint (PostgreSQL); answer 409, not 500.
        with db.begin_nested():
            db.add(patient)
    except IntegrityError:
        raise DuplicateMrn() from None
    return patient


def _clinic(actor: Actor) -> int:
    if actor.clinic_id is None:
        raise ValueError("the actor acts for no clinic")
    return actor.clinic_id


def add_patient(
    db: Session, actor: Actor, data: PatientInput, now: datetime, confirm_duplicate: bool = False
) -> Patient:
    """``create_patient`` in the actor's clinic, audited as a create."""
    patient = create_patient(db, _clinic(actor), data, confirm_duplicate, today=now.date())
    record(db, actor, "create", "patient", patient.id, patient.id)
    return patient


def open_patient(db: Session, actor: Actor, patient_id: int) -> Patient:
    """A patient of the actor's clinic (NotFound otherwise), audited as a read."""
    patient = get_patient(db, _clinic(actor), patient_id)
    record(db, actor, "read", "patient", patient.id, patient.id)
    return patient


def update_address(
    db: Session,
    actor: Actor,
    patient: Patient,
    now: datetime,  # noqa: ARG001
    *,
    address_line: str = "",
    city: str = "",
    state: str = "",
    postal_code: str = "",
) -> Patient:
    """Replace the patient's address (every part optional; BadRequest names the first bad
    part and nothing is written), audited as an update."""
    address, problems = validate_address(address_line, city, state, postal_code)
    if problems:
        field, reason = next(iter(problems.items()))
        raise BadRequest(reason, field)
    patient.address_line, patient.city = address.address_line, address.city
    patient.state, patient.postal_code = address.state, address.postal_code
    db.flush()
    record(db, actor, "update", "patient", f"{patient.id}:address", patient.id)
    return patient


def open_patient_counting_alerts(db: Session, actor: Actor, patient_id: int) -> tuple[Patient, int]:
    """As :func:`open_patient`, with the count of the patient's open alerts (for the header
    of a patient page: one statement instead of two)."""
    patient, open_alerts = get_patient_counting_alerts(db, _clinic(actor), patient_id)
    record(db, actor, "read", "patient", patient.id, patient.id)
    return patient, open_alerts


def find_patients(db: Session, actor: Actor, query: str = "") -> list[Patient]:
    """Patients of the actor's clinic (``query``: part of a name or the record number),
    audited as a list naming every patient shown."""
    patients = list_patients(db, _clinic(actor), query)
    record(db, actor, "list", "patient", patients=[p.id for p in patients])
    return patients


# Allergies and current medicines (issue 21.1): added and removed by staff, each change
# audited; a removal keeps the row (``removed_at``).


def _clean_text(value: str, field: str, limit: int, required: bool = False) -> str:
    text = value.strip()
    if required and not text:
        raise BadRequest("is required", field)
    if len(text) > limit:
        raise BadRequest(f"must be at most {limit} characters", field)
    if "\x00" in text:
        raise BadRequest("must not contain NUL characters", field)
    return text


def _actor_user_id(actor: Actor) -> int | None:
    return actor.user.id if actor.user is not None else None


def add_allergy(
    db: Session,
    actor: Actor,
    patient: Patient,
    now: datetime,
    substance: str,
    reaction: str = "",
    severity: str = "unknown",
) -> PatientAllergy:
    """Record an allergy (BadRequest names the bad field), audited as a create."""
    clean_substance = _clean_text(substance, "substance", 120, required=True)
    clean_reaction = _clean_text(reaction, "reaction", 200)
    try:
        level = AllergySeverity(severity.strip() or "unknown")
    except ValueError:
        raise BadRequest("must be one of mild, moderate, severe, unknown", "severity") from None
    row = PatientAllergy(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        substance=clean_substance,
        reaction=clean_reaction,
        severity=level,
        recorded_at=now,
        recorded_by_id=_actor_user_id(actor),
    )
    db.add(row)
    db.flush()
    record(db, actor, "create", "allergy", row.id, patient.id)
    return row


def remove_allergy(
    db: Session, actor: Actor, patient: Patient, allergy_id: int, now: datetime
) -> PatientAllergy:
    """Mark an allergy removed (entered in error or no longer applies), audited."""
    row = get_allergy(db, patient.id, allergy_id)
    row.removed_at, row.removed_by_id = now, _actor_user_id(actor)
    db.flush()
    record(db, actor, "delete", "allergy", row.id, patient.id)
    return row


def add_medication(
    db: Session,
    actor: Actor,
    patient: Patient,
    now: datetime,
    name: str,
    dose: str = "",
    started_on: str = "",
) -> PatientMedication:
    """Record a current medicine (BadRequest names the bad field), audited as a create."""
    clean_name = _clean_text(name, "name", 120, required=True)
    clean_dose = _clean_text(dose, "dose", 120)
    since: date | None = None
    if started_on.strip():
        try:
            since = date.fromisoformat(started_on.strip())
        except ValueError:
            raise BadRequest("must be a date as YYYY-MM-DD", "started_on") from None
        reason = out_of_range(since)
        if reason is not None:
            raise BadRequest(reason, "started_on")
        if since > now.date():
            raise BadRequest("must not be in the future", "started_on")
    row = PatientMedication(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        name=clean_name,
        dose=clean_dose,
        started_on=since,
        recorded_at=now,
        recorded_by_id=_actor_user_id(actor),
    )
    db.add(row)
    db.flush()
    record(db, actor, "create", "medication", row.id, patient.id)
    return row


def remove_medication(
    db: Session, actor: Actor, patient: Patient, medication_id: int, now: datetime
) -> PatientMedication:
    """Mark a medicine stopped (or entered in error), audited."""
    row = get_medication(db, patient.id, medication_id)
    row.removed_at, row.removed_by_id = now, _actor_user_id(actor)
    db.flush()
    record(db, actor, "delete", "medication", row.id, patient.id)
    return row


def medicines_and_allergies(
    db: Session, actor: Actor, patient: Patient
) -> tuple[list[PatientAllergy], list[PatientMedication]]:
    """The patient's current allergies and medicines: part of the patient's record, whose
    read is audited once per request when the route opens the patient (``PagePatient``,
    ``ApiPatient``: ``open_patient``), so one request discloses one audited read."""
    del actor  # kept for the use-case signature; the opening read is the audit event
    return current_allergies(db, patient.id), current_medications(db, patient.id)


@dataclass(frozen=True, slots=True)
class PatientHeader:
    """What the header of every patient page shows."""

    patient_id: int
    name: str
    age: int | None
    mrn: str | None
    open_alerts: int
    synthetic: bool


def patient_header(
    db: Session, patient: Patient, today: date, open_alerts: int | None = None
) -> PatientHeader:
    """Name, age on ``today``, record number and the count of open alerts (one query, unless
    the caller read ``open_alerts`` with the patient)."""
    return PatientHeader(
        patient.id,
        patient.display_name,
        patient.age_on(today),
        patient.mrn,
        open_alert_count(db, patient.clinic_id, patient.id) if open_alerts is None else open_alerts,
        patient.synthetic,
    )
