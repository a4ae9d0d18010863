"""Patient queries (plain functions; the per-request look-up is prebuilt)."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Integer, String, bindparam, column, func, or_, select, table
from sqlalchemy.orm import Session

from ketacare.features._kit.errors import NotFound
from ketacare.features.patients.models import Patient, PatientAllergy, PatientMedication

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


def same_person(
    db: Session, clinic_id: int, given_name: str, family_name: str, birth_date: date
) -> list[Patient]:
    """Patients of the clinic with this name (any case) and birth date (at most 10)."""
    stmt = (
        select(Patient)
        .where(
            Patient.clinic_id == clinic_id,
            Patient.birth_date == birth_date,
            func.lower(Patient.given_name) == given_name.lower(),
            func.lower(Patient.family_name) == family_name.lower(),
        )
        .order_by(Patient.id)
        .limit(10)
    )
    return list(db.execute(stmt).scalars())


def mrn_taken(db: Session, clinic_id: int, mrn: str) -> bool:
    """Whether a patient of the clinic has this record number."""
    stmt = select(Patient.id).where(Patient.clinic_id == clinic_id, Patient.mrn == mrn)
    return db.execute(stmt).first() is not None


def all_patient_ids(db: Session) -> list[int]:
    """Every patient id of every clinic (a backup discloses them all)."""
    return [int(i) for i in db.execute(select(Patient.id)).scalars()]


#: The ``alert`` table's columns the patient header counts (owned by features/assessments,
#: which sits above this feature: read through a ``table()`` clause, not its model).
_ALERT = table(
    "alert", column("patient_id", Integer), column("clinic_id", Integer), column("status", String)
)
_OPEN_ALERTS = select(func.count()).where(
    _ALERT.c.clinic_id == bindparam("clinic"),
    _ALERT.c.patient_id == bindparam("patient"),
    _ALERT.c.status == "open",
)


# Built once: the patient pages' look-up with the header's open-alert count, one round trip.
_GET_COUNTING_ALERTS = select(
    Patient,
    select(func.count())
    .where(
        _ALERT.c.clinic_id == Patient.clinic_id,
        _ALERT.c.patient_id == Patient.id,
        _ALERT.c.status == "open",
    )
    .scalar_subquery(),
).where(Patient.id == bindparam("id"), Patient.clinic_id == bindparam("clinic"))


def get_patient_counting_alerts(
    db: Session, clinic_id: int, patient_id: int
) -> tuple[Patient, int]:
    """As :func:`get_patient`, with the count of the patient's open alerts."""
    row = db.execute(_GET_COUNTING_ALERTS, {"id": patient_id, "clinic": clinic_id}).one_or_none()
    if row is None:
        raise NotFound("no such patient")
    return row[0], int(row[1])


def open_alert_count(db: Session, clinic_id: int, patient_id: int) -> int:
    """How many of the patient's alerts are open (the patient header's count)."""
    return int(db.execute(_OPEN_ALERTS, {"clinic": clinic_id, "patient": patient_id}).scalar_one())


def current_allergies(db: Session, patient_id: int) -> list[PatientAllergy]:
    """The patient's allergies not removed, oldest first."""
    stmt = (
        select(PatientAllergy)
        .where(PatientAllergy.patient_id == patient_id, PatientAllergy.removed_at.is_(None))
        .order_by(PatientAllergy.id)
    )
    return list(db.execute(stmt).scalars())


def current_medications(db: Session, patient_id: int) -> list[PatientMedication]:
    """The patient's current medicines (not stopped), oldest first."""
    stmt = (
        select(PatientMedication)
        .where(PatientMedication.patient_id == patient_id, PatientMedication.removed_at.is_(None))
        .order_by(PatientMedication.id)
    )
    return list(db.execute(stmt).scalars())


def get_allergy(db: Session, patient_id: int, allergy_id: int) -> PatientAllergy:
    """One allergy of the patient (NotFound otherwise, also when already removed)."""
    row = db.get(PatientAllergy, allergy_id)
    if row is None or row.patient_id != patient_id or row.removed_at is not None:
        raise NotFound("no such allergy")
    return row


def get_medication(db: Session, patient_id: int, medication_id: int) -> PatientMedication:
    """One current medicine of the patient (NotFound otherwise, also when stopped)."""
    row = db.get(PatientMedication, medication_id)
    if row is None or row.patient_id != patient_id or row.removed_at is not None:
        raise NotFound("no such medication")
    return row
