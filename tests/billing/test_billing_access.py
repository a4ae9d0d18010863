"""The billing role's column of the access matrix (tests/test_access_matrix.py): on billing
routes it may do what a clinician may; every other staff page and API refuses it like a
patient account (no clinical notes), and it lands on /billing after login."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.features.auth import service as accounts
from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from tests.conftest import SECRET, make_user
from tests.test_access_matrix import (  # noqa: F401
    MATRIX,
    SUBJECTS,
    World,
    classify,
    column_failures,
    world,
)

POLICY = accounts.SessionPolicy(max_age=timedelta(hours=1), idle=timedelta(hours=1))
CLINICIAN, PATIENT = SUBJECTS.index("clinician"), SUBJECTS.index("patient")
ADMIN = SUBJECTS.index("admin")
#: Payers and coverage: the billing role writes like an admin (clinicians only read).
LIKE_ADMIN = {
    ("POST", "/billing/payers"),
    ("POST", "/billing/payers/{payer_id}"),
    ("POST", "/billing/patients/{patient_id}/coverage"),
    ("POST", "/billing/patients/{patient_id}/coverage/{coverage_id}"),
    ("POST", "/api/v1/billing/payers"),
    ("PUT", "/api/v1/billing/payers/{payer_id}"),
    ("POST", "/api/v1/billing/patients/{patient_id}/coverages"),
    ("PUT", "/api/v1/billing/patients/{patient_id}/coverages/{coverage_id}"),
}

#: Where the billing role differs from a patient account outside billing.
NOT_LIKE_PATIENT = {
    ("GET", "/me"): "303",  # patients' own page: other roles are sent on
    ("GET", "/portal/sign-in"): "200",  # only a signed-in patient is sent on to /me
    ("POST", "/me/questionnaires/{invitation_id}"): "403",  # patients only
}


def expected(method: str, path: str) -> str:
    row = MATRIX[(method, path)].split()
    if (method, path) in LIKE_ADMIN:
        return row[ADMIN]
    if path.startswith(("/billing", "/api/v1/billing")):
        return row[CLINICIAN]
    return NOT_LIKE_PATIENT.get((method, path), row[PATIENT])


def test_billing_role_column(app: FastAPI, db: Session, world: World) -> None:  # noqa: F811
    failures = column_failures(app, db, world, Role.billing, expected)
    assert failures == [], "\n".join(failures)


def test_billing_user_lands_on_billing(app: FastAPI, db: Session, world: World) -> None:  # noqa: F811
    clinic = db.get(Clinic, world.users["admin"].clinic_id)
    assert clinic is not None
    user = make_user(db, clinic, Role.billing)
    session = accounts.start_session(db, SECRET, user, POLICY)
    db.commit()
    with TestClient(app, follow_redirects=False) as client:
        client.cookies.set("kc_session", session)
        assert client.get("/login?next=/patients").headers["location"] == "/billing"
        page = client.get("/billing")
        assert page.status_code == 200 and 'href="/patients"' not in page.text
