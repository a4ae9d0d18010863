"""Access rule shared by every patient-scoped route: the patient, in the caller's clinic,
read access audited. Another clinic's patient is a 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ketacare.features._kit.deps import DbDep, client_ip
from ketacare.features._kit.params import RowId
from ketacare.features.audit.service import record
from ketacare.features.auth.deps import ApiStaff, PageStaff, check_role_policy
from ketacare.features.patients.models import Patient
from ketacare.features.patients.service import get_patient


def patient_for_page(patient_id: RowId, request: Request, user: PageStaff, db: DbDep) -> Patient:
    """The patient of the path, for staff of its clinic (audited as a read)."""
    patient = get_patient(db, user.clinic_id, patient_id)
    check_role_policy(request, user)
    record(
        db,
        user,
        "read",
        "patient",
        patient.id,
        patient.id,
        channel="page",
        client=client_ip(request),
    )
    return patient


def patient_for_api(patient_id: RowId, request: Request, user: ApiStaff, db: DbDep) -> Patient:
    """The patient of the path, for a staff API token of its clinic (audited as a read)."""
    patient = get_patient(db, user.clinic_id, patient_id)
    check_role_policy(request, user)
    record(
        db,
        user,
        "read",
        "patient",
        patient.id,
        patient.id,
        channel="api",
        client=client_ip(request),
    )
    return patient


PagePatient = Annotated[Patient, Depends(patient_for_page)]
ApiPatient = Annotated[Patient, Depends(patient_for_api)]
