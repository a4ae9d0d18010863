"""The audit log filter takes a patient's name (or id or record number) and keeps the form
with an error next to the field when nothing matches (issue 13 point 13)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.features.audit.service import record
from ketacare.features.auth.models import Role
from ketacare.features.patients.models import Patient
from tests.conftest import login, make_clinic, make_user


def test_audit_filter_by_name_and_errors_keep_the_form(client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    other = make_clinic(db, "other", "Other")
    admin = make_user(db, clinic, Role.admin)
    clinician = make_user(db, clinic, Role.clinician)
    quill = Patient(clinic_id=clinic.id, given_name="Ada", family_name="Quill", mrn="MRN-77")
    lee = Patient(clinic_id=clinic.id, given_name="Bo", family_name="Lee")
    elsewhere = Patient(clinic_id=other.id, given_name="Ada", family_name="Quill")
    db.add_all([quill, lee, elsewhere])
    db.flush()
    ids = (quill.id, lee.id, elsewhere.id)
    for pid in ids[:2]:
        record(db, clinician, "read", "patient", pid, patient_id=pid)
    db.commit()
    login(client, admin.email)
    for query in ("quill", "Ada Quill", "mrn-77", str(ids[0])):
        page = client.get("/admin/audit", params={"patient": query})
        assert page.status_code == 200, (query, page.text[:300])
        assert f">{ids[0]}</a>" in page.text and f">{ids[1]}</a>" not in page.text, query
    bad = client.get("/admin/audit", params={"patient": "Nobody", "actor": "x@y.example"})
    assert bad.status_code == 422
    assert 'id="patient-error"' in bad.text and "no patient matches" in bad.text
    assert 'value="Nobody"' in bad.text and 'value="x@y.example"' in bad.text
    huge = client.get("/admin/audit", params={"patient": "99999999999"})
    assert huge.status_code == 422 and 'id="patient-error"' in huge.text
