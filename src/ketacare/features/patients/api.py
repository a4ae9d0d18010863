"""Patients JSON API (staff bearer tokens, clinic-scoped)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from ketacare.features._kit.deps import DbDep, NowDep
from ketacare.features._kit.params import RowId
from ketacare.features.auth.deps import ApiActor, ApiDeskActor
from ketacare.features.patients import service
from ketacare.features.patients.deps import ApiPatient
from ketacare.features.patients.schemas import (
    AddressIn,
    AllergyIn,
    AllergyOut,
    MedicationIn,
    MedicationOut,
    PatientCreate,
    PatientDetailOut,
    PatientOut,
)

router = APIRouter(prefix="/api/v1/patients", tags=["patients"])


@router.get("", response_model=list[PatientOut])
def list_patients(actor: ApiDeskActor, db: DbDep, q: str = "") -> list[PatientOut]:
    """Patients of the caller's clinic (filter by name or MRN with ``q``); staff and the front
    desk (demographics only: the detail with allergies and medicines is for staff)."""
    patients = service.find_patients(db, actor, q)
    return [PatientOut.model_validate(p) for p in patients]


@router.post("", response_model=PatientOut, status_code=201)
def create_patient(body: PatientCreate, actor: ApiDeskActor, db: DbDep, now: NowDep) -> PatientOut:
    """Create a patient in the caller's clinic (staff and the front desk)."""
    data = service.PatientInput(
        given_name=body.given_name,
        family_name=body.family_name,
        birth_date=body.birth_date.isoformat() if body.birth_date else "",
        sex=body.sex.value,
        mrn=body.mrn,
        email=body.email,
        phone=body.phone,
        address_line=body.address_line,
        city=body.city,
        state=body.state,
        postal_code=body.postal_code,
    )
    patient = service.add_patient(db, actor, data, now, confirm_duplicate=body.confirm_duplicate)
    return PatientOut.model_validate(patient)


@router.get("/{patient_id}", response_model=PatientDetailOut)
def read_patient(patient: ApiPatient, actor: ApiActor, db: DbDep) -> PatientDetailOut:
    """One patient of the caller's clinic, with the current allergies and medicines."""
    allergies, medications = service.medicines_and_allergies(db, actor, patient)
    out = PatientDetailOut.model_validate(patient)
    out.allergies = [AllergyOut.model_validate(a) for a in allergies]
    out.medications = [MedicationOut.model_validate(m) for m in medications]
    return out


@router.put("/{patient_id}/address", response_model=PatientOut)
def update_address(
    body: AddressIn, patient: ApiPatient, actor: ApiActor, db: DbDep, now: NowDep
) -> PatientOut:
    """Replace the patient's postal address (400 naming the part that is wrong)."""
    service.update_address(db, actor, patient, now, **body.model_dump())
    return PatientOut.model_validate(patient)


@router.get("/{patient_id}/allergies", response_model=list[AllergyOut])
def list_allergies(patient: ApiPatient, actor: ApiActor, db: DbDep) -> list[AllergyOut]:
    """The patient's current allergies."""
    allergies, _ = service.medicines_and_allergies(db, actor, patient)
    return [AllergyOut.model_validate(a) for a in allergies]


@router.post("/{patient_id}/allergies", response_model=AllergyOut, status_code=201)
def add_allergy(
    body: AllergyIn, patient: ApiPatient, actor: ApiActor, db: DbDep, now: NowDep
) -> AllergyOut:
    """Record an allergy (audited)."""
    row = service.add_allergy(
        db, actor, patient, now, body.substance, body.reaction, body.severity.value
    )
    return AllergyOut.model_validate(row)


@router.delete("/{patient_id}/allergies/{allergy_id}", status_code=204)
def remove_allergy(
    allergy_id: RowId, patient: ApiPatient, actor: ApiActor, db: DbDep, now: NowDep
) -> Response:
    """Remove an allergy from the current list (the row is kept; audited)."""
    service.remove_allergy(db, actor, patient, allergy_id, now)
    return Response(status_code=204)


@router.get("/{patient_id}/medications", response_model=list[MedicationOut])
def list_medications(patient: ApiPatient, actor: ApiActor, db: DbDep) -> list[MedicationOut]:
    """The patient's current medicines."""
    _, medications = service.medicines_and_allergies(db, actor, patient)
    return [MedicationOut.model_validate(m) for m in medications]


@router.post("/{patient_id}/medications", response_model=MedicationOut, status_code=201)
def add_medication(
    body: MedicationIn, patient: ApiPatient, actor: ApiActor, db: DbDep, now: NowDep
) -> MedicationOut:
    """Record a current medicine (audited)."""
    since = body.started_on.isoformat() if body.started_on else ""
    row = service.add_medication(db, actor, patient, now, body.name, body.dose, since)
    return MedicationOut.model_validate(row)


@router.delete("/{patient_id}/medications/{medication_id}", status_code=204)
def remove_medication(
    medication_id: RowId, patient: ApiPatient, actor: ApiActor, db: DbDep, now: NowDep
) -> Response:
    """Stop a medicine (the row is kept; audited)."""
    service.remove_medication(db, actor, patient, medication_id, now)
    return Response(status_code=204)
