"""Patients JSON API (staff bearer tokens, clinic-scoped)."""

from __future__ import annotations

from fastapi import APIRouter

from ketacare.features._kit.deps import DbDep, NowDep
from ketacare.features.auth.deps import ApiActor
from ketacare.features.patients import service
from ketacare.features.patients.deps import ApiPatient
from ketacare.features.patients.schemas import PatientCreate, PatientOut

router = APIRouter(prefix="/api/v1/patients", tags=["patients"])


@router.get("", response_model=list[PatientOut])
def list_patients(actor: ApiActor, db: DbDep, q: str = "") -> list[PatientOut]:
    """Patients of the caller's clinic (filter by name or MRN with ``q``)."""
    patients = service.find_patients(db, actor, q)
    return [PatientOut.model_validate(p) for p in patients]


@router.post("", response_model=PatientOut, status_code=201)
def create_patient(body: PatientCreate, actor: ApiActor, db: DbDep, now: NowDep) -> PatientOut:
    """Create a patient in the caller's clinic."""
    data = service.PatientInput(
        given_name=body.given_name,
        family_name=body.family_name,
        birth_date=body.birth_date.isoformat() if body.birth_date else "",
        sex=body.sex.value,
        mrn=body.mrn,
        email=body.email,
        phone=body.phone,
    )
    patient = service.add_patient(db, actor, data, now, confirm_duplicate=body.confirm_duplicate)
    return PatientOut.model_validate(patient)


@router.get("/{patient_id}", response_model=PatientOut)
def read_patient(patient: ApiPatient) -> PatientOut:
    """One patient of the caller's clinic."""
    return PatientOut.model_validate(patient)
