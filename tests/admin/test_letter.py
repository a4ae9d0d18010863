"""The letter to the referring clinician (issue 21.8): letterhead, identity, course summary,
latest scores with bands, signed by the clinician who opens it; audited; clinicians only."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients.models import Patient
from tests.conftest import login, make_user
from tests.sessions.support import make_session, setup


def test_letter_shows_the_course_and_latest_scores_signed_by_the_clinician(
    client: TestClient, db: Session
) -> None:
    ctx = setup(db)
    clinic = db.get(Clinic, ctx["clinic_id"])
    assert clinic is not None
    clinic.contact_text = "12 Elm Street, Springfield. Phone 555 0100."
    clinician = ctx["clinician_user"]
    clinician.display_name = "Dr Rosa Ortiz"
    db.commit()
    pid = ctx["patient_id"]
    for answers in ([3] * 8 + [0], [1] * 8 + [0]):  # PHQ-9 24 (severe) then 8 (mild)
        r = client.post(
            f"/api/v1/patients/{pid}/assessments",
            headers=ctx["clinician"],
            json={"instrument": "phq9", "answers": answers},
        )
        assert r.status_code == 201, r.text
    r = client.post(
        f"/api/v1/patients/{pid}/assessments",
        headers=ctx["clinician"],
        json={"instrument": "gad7", "answers": [3] * 7},
    )
    assert r.status_code == 201, r.text

    login(client, ctx["clinician_email"])
    r = client.get(f"/patients/{pid}/letter", params={"to": "Dr Lee, Main St Practice"})
    assert r.status_code == 200, r.text
    page = r.text
    assert "12 Elm Street, Springfield." in page  # letterhead: the clinic's contact text
    assert "To: Dr Lee, Main St Practice" in page
    assert "Re: " in page and "born " in page
    assert 'id="letter-course"' in page and "Plan:" in page
    # Latest score per instrument with its band, the change from the first, the severity
    # in words (never colour alone).
    assert "PHQ-9" in page and "<td>8</td>" in page and "Mild" in page
    assert "-16 (from 24)" in page
    assert "GAD-7" in page and "(severe)" in page and "first score" in page
    assert "Dr Rosa Ortiz" in page and "Clinician" in page
    db.expire_all()
    events = list(
        db.execute(select(AuditEvent).where(AuditEvent.resource == "referral_letter")).scalars()
    )
    assert [(e.action, e.patient_id) for e in events] == [("export", pid)]
    db.commit()

    # A recipient line too long is refused naming the field (422); nothing is exported.
    r = client.get(f"/patients/{pid}/letter", params={"to": "x" * 301})
    assert r.status_code == 422 and "to" in r.text


def test_letter_is_for_clinicians_of_the_patients_clinic(client: TestClient, db: Session) -> None:
    ctx = setup(db)
    pid = ctx["patient_id"]
    login(client, ctx["nurse_email"])
    r = client.get(f"/patients/{pid}/letter")
    assert r.status_code == 403 and "clinician" in r.text
    db.expire_all()
    n = len(
        list(
            db.execute(select(AuditEvent).where(AuditEvent.resource == "referral_letter")).scalars()
        )
    )
    db.commit()
    assert n == 0


def test_letter_without_scores_or_sessions_says_so(client: TestClient, db: Session) -> None:
    ctx = setup(db)
    clinic = db.get(Clinic, ctx["clinic_id"])
    assert clinic is not None
    other = make_user(db, clinic, Role.clinician)
    email = other.email
    db.commit()
    login(client, email)
    r = client.get(f"/patients/{ctx['patient_id']}/letter")
    assert r.status_code == 200
    assert "No scored measures yet." in r.text
    assert "Sessions charted: 0" in r.text
    assert email in r.text  # no display name: the email signs


def test_letter_counts_charted_sessions(client: TestClient, db: Session) -> None:
    ctx = setup(db)
    clinic = db.get(Clinic, ctx["clinic_id"])
    patient = db.get(Patient, ctx["patient_id"])
    assert clinic is not None and patient is not None
    make_session(db, clinic, patient)
    login(client, ctx["clinician_email"])
    r = client.get(f"/patients/{ctx['patient_id']}/letter")
    assert r.status_code == 200
    assert "Sessions charted: 1" in r.text
