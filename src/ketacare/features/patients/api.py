"""Patients JSON API (staff bearer tokens, clinic-scoped)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from ketacare.features._kit.deps import DbDep, client_ip
from ketacare.features.audit.service import record
from ketacare.features.auth.deps import ApiStaff
from ketacare.features.patients import service
from ketacare.features.patients.deps import ApiPatient
from ketacare.features.patients.schemas import PatientCreate, PatientOut

router = APIRouter(prefix="/api/v1/patients", tags=["patients"])


@router.get("", response_model=list[PatientOut])
def list_patients(request: Request, user: ApiStaff, db: DbDep, q: str = "") -> list[PatientOut]:
    """Patients of the caller's clinic (filter by name or MRN with ``q``)."""
    patients = service.list_patients(db, user.clinic_id, q)
    seen = [p.id for p in patients]
    record(db, user, "list", "patient", channel="api", client=client_ip(request), patients=seen)
    return [PatientOut.model_validate(p) for p in patients]


@router.post("", response_model=PatientOut, status_code=201)
def create_patient(body: PatientCreate, request: Request, user: ApiStaff, db: DbDep) -> PatientOut:
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
    patient = service.create_patient(
        db, user.clinic_id, data, confirm_duplicate=body.confirm_duplicate
    )
    record(
        db,
        user,
        "create",
        "patient",
        patient.id,
        patient.id,
        channel="api",
        client=client_ip(request),
    )
    return PatientOut.model_validate(patient)


@router.get("/{patient_id}", response_model=PatientOut)
def read_patient(patient: ApiPatient) -> PatientOut:
    """One patient of the caller's clinic."""
    return PatientOut.model_validate(patient)
