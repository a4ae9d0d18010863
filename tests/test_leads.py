"""Leads become patients and keep a contact history; PHQ-9s taken before treatment join the
record (issues 13.11 and 13.12). SQLite and PostgreSQL."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.assessments.models import Assessment, Source
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.patients.models import Patient
from ketacare.features.screening.models import Lead, LeadNote, Screening
from tests import real_http
from tests.browser import live_server
from tests.conftest import PASSWORD, count, csrf, login, make_clinic, make_user
from tests.intake_app.intake_support import example, setup

PHQ9 = [2, 2, 1, 2, 1, 2, 1, 0, 1]
GAD7 = [1, 2, 1, 1, 0, 1, 0]


def _lead(client: TestClient, name: str = "Robin Q Example") -> str:
    """A self-screen and a consultation request through the public pages; the screening id."""
    token = csrf(client)
    form = {f"phq9_{i}": str(v) for i, v in enumerate(PHQ9, start=1)}
    form |= {f"gad7_{i}": str(v) for i, v in enumerate(GAD7, start=1)}
    r = client.post("/screen", data=form | {"phq9_10": "1", "csrf_token": token})
    assert r.status_code == 303, r.text
    sid = r.headers["location"].rsplit("/", 1)[1]
    r = client.post(
        f"/screen/result/{sid}/consult",
        data={
            "name": name,
            "phone": "+1 555 0199",
            "email": "robin@example.org",
            "consent": "yes",
            "csrf_token": token,
        },
    )
    assert r.status_code == 200, r.text
    return sid


def _staff(client: TestClient, db: Session) -> int:
    clinic = make_clinic(db)
    user = make_user(db, clinic, Role.clinician)
    login(client, user.email, PASSWORD)
    return user.id


def _lead_id(db: Session) -> int:
    lead_id = db.execute(select(Lead.id)).scalar_one()
    db.commit()
    return int(lead_id)


def test_contact_history_is_appended_with_author_and_time(client: TestClient, db: Session) -> None:
    nurse = make_user(db, make_clinic(db), Role.nurse, "nurse-notes@example.org")
    login(client, nurse.email, PASSWORD)
    _lead(client)
    lead_id = _lead_id(db)
    token = client.cookies.get("kc_csrf") or ""
    for status, note in (("contacted", "Left a voicemail"), ("contacted", "Called back: Tue")):
        r = client.post(
            f"/leads/{lead_id}/status", data={"status": status, "note": note, "csrf_token": token}
        )
        assert r.status_code == 303
    page = client.get(f"/leads/{lead_id}").text
    history = page[page.index('id="contact-history"') :]
    assert "Left a voicemail" in history and "Called back: Tue" in history
    assert history.index("Left a voicemail") < history.index("Called back: Tue")
    assert history.count("nurse-notes@example.org") == 2
    notes = db.execute(select(LeadNote).order_by(LeadNote.id)).scalars().all()
    db.commit()
    assert [n.body for n in notes] == ["Left a voicemail", "Called back: Tue"]
    assert [n.status for n in notes] == ["contacted", ""]  # the second did not change it
    assert all(n.author_email == "nurse-notes@example.org" and n.created_at for n in notes)


def test_convert_lead_prefilled_linked_both_ways_and_audited(
    client: TestClient, db: Session
) -> None:
    user_id = _staff(client, db)
    _lead(client)
    lead_id = _lead_id(db)
    form = client.get(f"/leads/{lead_id}").text
    assert f'href="/leads/{lead_id}/convert"' in form
    page = client.get(f"/leads/{lead_id}/convert").text
    assert re.search(r'id="given_name"[^>]*value="Robin Q"', page)
    assert re.search(r'id="family_name"[^>]*value="Example"', page)
    assert re.search(r'id="phone"[^>]*value="\+1 555 0199"', page)
    assert re.search(r'id="email"[^>]*value="robin@example.org"', page)
    token = client.cookies.get("kc_csrf") or ""
    data = {
        "given_name": "Robin Q",
        "family_name": "Example",
        "birth_date": "1980-05-06",
        "sex": "female",
        "email": "robin@example.org",
        "phone": "+1 555 0199",
        "csrf_token": token,
    }
    r = client.post(f"/leads/{lead_id}/convert", data=data)
    assert r.status_code == 303, r.text
    patient_id = int(r.headers["location"].rsplit("/", 1)[1])
    lead = db.get(Lead, lead_id)
    assert lead is not None and lead.patient_id == patient_id and lead.converted_at
    assert lead.screening_consent_at is None
    db.commit()
    # Linked both ways: the patient page names the request, the request links the patient.
    assert f'href="/leads/{lead_id}"' in client.get(f"/patients/{patient_id}").text
    assert f'href="/patients/{patient_id}"' in client.get(f"/leads/{lead_id}").text
    events = db.execute(
        select(AuditEvent.action, AuditEvent.resource, AuditEvent.resource_id).where(
            AuditEvent.actor_id == user_id, AuditEvent.patient_id == patient_id
        )
    ).all()
    db.commit()
    assert ("convert", "lead", str(lead_id)) in events
    assert ("create", "patient", str(patient_id)) in events
    # No consent: the anonymous self-screen stays out of the record.
    assert count(db, Assessment) == 0
    # A second conversion is refused naming the patient; nothing more is stored.
    again = client.post(f"/leads/{lead_id}/convert", data=data)
    assert again.status_code == 409 and str(patient_id) in again.text
    assert count(db, Patient) == 1
    history = db.execute(select(LeadNote.status)).scalars().all()
    db.commit()
    assert history == ["converted"]


def test_convert_with_consent_carries_the_self_screen_dated_when_taken(
    client: TestClient, db: Session
) -> None:
    _staff(client, db)
    sid = _lead(client)
    lead_id = _lead_id(db)
    taken = db.execute(select(Screening.created_at).where(Screening.id == sid)).scalar_one()
    db.commit()
    data = {
        "given_name": "Robin",
        "family_name": "Example",
        "sex": "unknown",
        "screening_consent": "yes",
        "csrf_token": client.cookies.get("kc_csrf") or "",
    }
    r = client.post(f"/leads/{lead_id}/convert", data=data)
    assert r.status_code == 303, r.text
    rows = db.execute(select(Assessment).order_by(Assessment.instrument_id)).scalars().all()
    db.commit()
    assert [(a.instrument_id, a.total, a.source) for a in rows] == [
        ("gad7", sum(GAD7), Source.self_screen),
        ("phq9", sum(PHQ9), Source.self_screen),
    ]
    assert all(a.completed_at == taken for a in rows)
    assert rows[1].answers["10"] == 1  # the difficulty item came along
    lead = db.get(Lead, lead_id)
    assert lead is not None and lead.screening_consent_at is not None
    db.commit()


def test_concurrent_conversions_make_one_patient(app: FastAPI, db: Session) -> None:
    clinic = make_clinic(db)
    user = make_user(db, clinic, Role.clinician)
    with live_server(app) as base:
        with real_http.client(base_url=base) as anon:
            anon.get("/screen")
            token = anon.cookies["kc_csrf"]
            form = {f"phq9_{i}": "1" for i in range(1, 10)} | {"csrf_token": token}
            sid = anon.post("/screen", data=form).headers["location"].rsplit("/", 1)[1]
            r = anon.post(
                f"/screen/result/{sid}/consult",
                data={"name": "Sam Race", "phone": "+1 555 0100", "consent": "yes"}
                | {"csrf_token": token},
            )
            assert r.status_code == 200
        lead_id = _lead_id(db)
        barrier = threading.Barrier(6)
        codes: list[int] = []

        def convert() -> None:
            with real_http.client(base_url=base, timeout=60) as c:
                c.get("/login")
                c.post(
                    "/login",
                    data={"email": user.email, "password": PASSWORD}
                    | {"csrf_token": c.cookies["kc_csrf"]},
                )
                barrier.wait()
                r = c.post(
                    f"/leads/{lead_id}/convert",
                    data={"given_name": "Sam", "family_name": "Race"}
                    | {"csrf_token": c.cookies["kc_csrf"]},
                )
                codes.append(r.status_code)

        threads = [threading.Thread(target=convert) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    assert sorted(codes) == [303] + [409] * 5, codes
    assert count(db, Patient) == 1


def test_intake_phq9_becomes_the_baseline_assessment(client: TestClient, db: Session) -> None:
    _, _, patient, headers = setup(db)
    url = f"/api/v1/patients/{patient.id}/intake"
    assert client.put(url, json=example(), headers=headers).status_code == 200
    # A correction that keeps the same PHQ-9 stores it once.
    doc = example(demographics={"age_years": 42, "sex": "female", "weight_kg": 72.5})
    assert client.put(url, json=doc, headers=headers).status_code == 200
    rows = db.execute(select(Assessment)).scalars().all()
    db.commit()
    assert len(rows) == 1
    (row,) = rows
    phq9 = example()["screening"]["phq9"]
    assert row.instrument_id == "phq9" and row.source == Source.intake
    assert row.total == sum(phq9)
    assert row.completed_at == datetime(2025, 3, 1, 12, tzinfo=UTC)  # the intake's date
    listed = client.get(f"/api/v1/patients/{patient.id}/assessments", headers=headers)
    assert listed.status_code == 200 and str(sum(phq9)) in listed.text


def test_convert_a_possible_duplicate_keeps_the_form_and_asks_to_confirm(
    client: TestClient, db: Session
) -> None:
    """Converting a lead whose person may already be a patient (same name and birth date, no
    record number) comes back as the form with the warning (409), not an error page; the
    confirmation then creates the record."""
    _staff(client, db)
    _lead(client)
    lead_id = _lead_id(db)
    client.get(f"/leads/{lead_id}/convert")
    token = client.cookies.get("kc_csrf") or ""
    person = {"given_name": "Robin Q", "family_name": "Example", "birth_date": "1980-05-06"}
    r = client.post("/patients/new", data={**person, "sex": "female", "csrf_token": token})
    assert r.status_code == 303, r.text
    data = {**person, "sex": "female", "csrf_token": token}
    r = client.post(f"/leads/{lead_id}/convert", data=data)
    assert r.status_code == 409, r.text
    assert 'id="duplicate-warning"' in r.text and 'value="Robin Q"' in r.text
    r = client.post(f"/leads/{lead_id}/convert", data={**data, "confirm_duplicate": "yes"})
    assert r.status_code == 303, r.text
