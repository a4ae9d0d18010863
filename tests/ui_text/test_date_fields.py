"""Date fields are <input type="date"> with a plain label everywhere: no "YYYY-MM-DD" labels
or text placeholders beside a browser date picker (issue 13 point 21)."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from ketacare.features.patients.models import Patient
from tests.conftest import login, make_clinic, make_user

DATE_NAMES = re.compile(r'name="(birth_date|from|to|start_date|until_date)"')


def test_staff_date_fields_are_date_inputs_with_plain_labels(
    client: TestClient, db: Session
) -> None:
    clinic = make_clinic(db)
    patient = Patient(clinic_id=clinic.id, given_name="Ada", family_name="Quill")
    db.add(patient)
    db.commit()
    login(client, make_user(db, clinic, Role.clinician).email)
    for path in ("/patients/new", "/analytics", f"/patients/{patient.id}/assessments"):
        html = client.get(path).text
        assert "YYYY" not in html, path
        for tag in re.findall(r"<input[^>]*>", html):
            if DATE_NAMES.search(tag):
                assert 'type="date"' in tag, (path, tag)
                field_id = re.search(r'id="([^"]+)"', tag)
                assert field_id and f'for="{field_id[1]}"' in html, (path, tag)
