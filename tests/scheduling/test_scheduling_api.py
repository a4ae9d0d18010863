"""Scheduling API and pages end to end on both databases (fixed clock, New York time)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.course.booking import StaffRole
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from ketacare.features.intake.models import PlannedSession
from ketacare.features.scheduling import queries, service
from tests.conftest import api_token, csrf, login, make_user
from tests.scheduling.support import NY, at
from tests.sessions.support import T0, install_clock, setup

START = date(2025, 3, 3)  # the plan's first day (Monday); US DST starts 2025-03-09


def floor_setup(db: Session, client: TestClient) -> dict[str, Any]:
    w = setup(db, "iv")
    clinic = db.get(Clinic, w["clinic_id"])
    assert clinic is not None
    clinic.timezone = "America/New_York"
    admin = make_user(db, clinic, Role.admin)
    w["admin"] = {"Authorization": f"Bearer {api_token(db, admin)}"}
    w["admin_email"] = admin.email
    db.commit()
    r = client.post(
        "/api/v1/scheduling/sites",
        json={"name": "Main", "hours": "mon-fri 08:00-18:00", "rems_certified": True},
        headers=w["admin"],
    )
    assert r.status_code == 201, r.text
    site_id = r.json()["id"]
    for name in ("Chair 1", "Chair 2"):
        r = client.post(
            f"/api/v1/scheduling/sites/{site_id}/chairs", json={"name": name}, headers=w["admin"]
        )
        assert r.status_code == 201
    r = client.post(
        f"/api/v1/scheduling/sites/{site_id}/shifts",
        json={
            "staff_name": "N",
            "role": "nurse",
            "starts_at": at(START, 8).isoformat(),
            "ends_at": at(START, 18).isoformat(),
        },
        headers=w["admin"],
    )
    assert r.status_code == 201, r.text
    site = queries.get_site(db, w["clinic_id"], site_id)
    actor = Actor.cli(w["clinic_id"])
    for d in range(1, 35):
        day = START + timedelta(days=d)
        service.add_shift(db, actor, site, "N", StaffRole.nurse, at(day, 8), at(day, 18))
    db.commit()
    w["site_id"] = site_id
    return w


def test_admin_only_sets_up_and_bad_hours_name_the_field(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    w = setup(db, "iv")
    body = {"name": "X", "hours": "mon-fri 08:00-18:00"}
    assert client.post("/api/v1/scheduling/sites", json=body, headers=w["nurse"]).status_code == 403
    clinic = db.get(Clinic, w["clinic_id"])
    admin = make_user(db, clinic, Role.admin)  # type: ignore[arg-type]
    h = {"Authorization": f"Bearer {api_token(db, admin)}"}
    r = client.post(
        "/api/v1/scheduling/sites", json={"name": "X", "hours": "mon 18:00-08:00"}, headers=h
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "hours"


def test_course_from_plan_book_reschedule_cancel(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    install_clock(app, T0)
    w = floor_setup(db, client)
    pid, site_id = w["patient_id"], w["site_id"]
    body = {"site_id": site_id, "plan_id": None, "earliest": "09:00"}
    planned = db.scalars(select(PlannedSession).order_by(PlannedSession.number)).all()
    body["plan_id"] = planned[0].plan_id
    db.commit()
    # A weekday past Sunday (6) is refused naming the field; it used to be dropped unsaid.
    r = client.post(
        f"/api/v1/scheduling/patients/{pid}/course-search",
        json={**body, "weekdays": [0, 7]},
        headers=w["nurse"],
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"].startswith("weekdays")
    r = client.post(
        f"/api/v1/scheduling/patients/{pid}/course-search", json=body, headers=w["nurse"]
    )
    assert r.status_code == 200, r.text
    slots = r.json()
    assert len(slots) == len(planned)
    r = client.post(f"/api/v1/scheduling/patients/{pid}/courses", json=body, headers=w["nurse"])
    assert r.status_code == 201, r.text
    booked = r.json()
    assert [b["starts_at"] for b in booked] == [s["starts_at"] for s in slots]
    # Across the DST change (2025-03-09) every session stays at 09:00 New York time.
    assert {datetime.fromisoformat(b["starts_at"]).astimezone(NY).hour for b in booked} == {9}
    # The same course again: the patient is already booked then -> 422 naming the session.
    r = client.post(
        f"/api/v1/scheduling/patients/{pid}/courses",
        json={**body, "latest_start": "09:00"},
        headers=w["nurse"],
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"].startswith("targets[")
    # Reading the patient's bookings is audited with the patient.
    r = client.get(f"/api/v1/scheduling/patients/{pid}/bookings", headers=w["nurse"])
    assert r.status_code == 200 and len(r.json()) == len(planned)
    ev = db.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "list", AuditEvent.resource == "sched_booking"
        )
    ).all()
    assert ev and f",{pid}," in ev[-1].patients
    db.commit()
    # Reschedule the first session one day later: the next ones are proposed, not moved.
    first = booked[0]
    new = datetime.fromisoformat(first["starts_at"]) + timedelta(days=1)
    r = client.post(
        f"/api/v1/scheduling/bookings/{first['id']}/reschedule",
        json={"starts_at": new.isoformat()},
        headers=w["nurse"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["later"] and not r.json()["moved_later"]
    # Cancel with a reason; no reason is a 422 naming it.
    r = client.post(
        f"/api/v1/scheduling/bookings/{booked[-1]['id']}/cancel",
        json={"reason": ""},
        headers=w["nurse"],
    )
    assert r.status_code == 422
    r = client.post(
        f"/api/v1/scheduling/bookings/{booked[-1]['id']}/cancel",
        json={"reason": "travelling"},
        headers=w["nurse"],
    )
    assert r.status_code == 200 and r.json()["status"] == "cancelled"
    # Day and board.
    r = client.get(
        f"/api/v1/scheduling/sites/{site_id}/day", params={"day": "2025-03-03"}, headers=w["nurse"]
    )
    assert r.status_code == 200
    r = client.get(f"/api/v1/scheduling/sites/{site_id}/board", headers=w["nurse"])
    assert r.status_code == 200 and len(r.json()) == 2


def test_pages_book_course_and_patient_link(app: FastAPI, client: TestClient, db: Session) -> None:
    install_clock(app, T0)
    w = floor_setup(db, client)
    pid, site_id = w["patient_id"], w["site_id"]
    plan_id = db.scalars(select(PlannedSession.plan_id)).first()
    db.commit()
    login(client, w["admin_email"])
    token = csrf(client, f"/patients/{pid}/bookings")
    r = client.get(f"/patients/{pid}/bookings")
    assert r.status_code == 200 and "Book the course" in r.text
    form = {
        "csrf_token": token,
        "plan_id": str(plan_id),
        "site_id": str(site_id),
        "earliest": "10:00",
    }
    r = client.post(f"/patients/{pid}/bookings/search", data=form)
    assert r.status_code == 200 and len(r.json()["slots"]) >= 6
    assert r.json()["slots"][0]["start"] == "10:00"
    r = client.post(f"/patients/{pid}/bookings/course", data=form)
    assert r.status_code == 303, r.text
    r = client.get(f"/scheduling/sites/{site_id}/day?day=2025-03-03")
    assert r.status_code == 200 and "not confirmed" in r.text
    booking = queries.patient_bookings(db, w["clinic_id"], pid)[0]
    db.commit()
    r = client.post(f"/scheduling/bookings/{booking.id}/link", data={"csrf_token": token})
    assert r.status_code == 200
    link = r.text.split('id="confirm-link" class="wide" readonly value="')[1].split('"')[0]
    path = "/b/" + link.split("/b/")[1]
    client.cookies.clear()
    page = client.get(path)
    assert page.status_code == 200 and "10:00" in page.text and "No food" not in page.text
    token2 = client.cookies.get("kc_csrf")
    r = client.post(path, data={"csrf_token": token2, "action": "confirm", "instructions": "yes"})
    assert r.status_code == 200 and "confirmed" in r.text
    db.expire_all()
    got = queries.get_booking(db, w["clinic_id"], booking.id)
    assert got.confirmed_at is not None and got.instructions_ack_at is not None
    db.commit()
    assert client.get("/b/not-a-valid-token-xyz").status_code == 404


def test_board_follows_an_esketamine_session_to_the_40_min_bp(
    app: FastAPI, client: TestClient, db: Session, settings: Any
) -> None:
    from ketacare.features.auth.models import User
    from ketacare.features.patients.models import Patient
    from tests.sessions.support import CADSS6_ZERO, CHECKLIST_OK, make_plan

    clock = install_clock(app, T0)
    w = floor_setup(db, client)
    site = queries.get_site(db, w["clinic_id"], w["site_id"])
    for d in range(35):
        day = START + timedelta(days=d)
        service.add_shift(
            db,
            Actor.cli(w["clinic_id"]),
            site,
            "Dr P",
            StaffRole.prescriber,
            at(day, 8),
            at(day, 18),
        )
    patient = db.get(Patient, w["patient_id"])
    clinician = db.get(User, w["clinician_user"].id)
    assert patient is not None and clinician is not None
    make_plan(db, clinician, patient, "esketamine")  # supersedes the IV plan
    plan_id = db.scalars(select(PlannedSession.plan_id).order_by(PlannedSession.id.desc())).first()
    db.commit()
    assert plan_id is not None
    # One session on the plan's first day (the session it opens is that planned session).
    body = {
        "site_id": w["site_id"],
        "kind": "esketamine",
        "targets": ["2025-03-03"],
        "earliest": "09:00",
    }
    r = client.post(
        f"/api/v1/scheduling/patients/{patient.id}/courses", json=body, headers=w["nurse"]
    )
    assert r.status_code == 201, r.text
    first = r.json()[0]
    assert first["kind"] == "esketamine"
    start = datetime.fromisoformat(first["starts_at"])
    assert datetime.fromisoformat(first["ends_at"]) - start == timedelta(minutes=160)
    board = client.get(f"/api/v1/scheduling/sites/{w['site_id']}/board", headers=w["nurse"]).json()
    row = next(c for c in board if c["booking_id"] == first["id"])
    assert row["phase"] == "booked" and "not confirmed" in row["alerts"]
    # The nurse opens the session from the booking and doses.
    booking = queries.get_booking(db, w["clinic_id"], first["id"])
    nurse = db.get(User, w["nurse_user"].id)
    assert nurse is not None
    token = service.issue_link(db, settings.secret_key.get_secret_value(), booking)
    db.commit()
    page = client.get(f"/b/{token}")
    assert "No food for 2 hours" in page.text
    answer = {
        "csrf_token": client.cookies.get("kc_csrf"),
        "action": "confirm",
        "instructions": "yes",
    }
    assert client.post(f"/b/{token}", data=answer).status_code == 200
    booking = queries.get_booking(db, w["clinic_id"], first["id"])
    sid = service.open_session(db, Actor.for_user(nurse, "page"), booking, settings)
    db.commit()
    # The session page shows the patient's answers as patient-reported, to verify.
    login(client, w["nurse_email"])
    page = client.get(f"/sessions/{sid}")
    assert page.status_code == 200
    reported = page.text.split('id="patient-reported"')[1].split("</div>")[0]
    assert "confirmed the visit" in reported and "no liquids for 30 min" in reported
    base = f"/api/v1/sessions/{sid}"
    assert client.put(f"{base}/checklist", json=CHECKLIST_OK, headers=w["nurse"]).status_code == 200
    for instrument, extra in (("moaas", {"answers": {"1": 5}}), ("cadss6", CADSS6_ZERO)):
        scale = {"instrument": instrument, "timepoint": "pre_dose", **extra}
        assert client.post(f"{base}/scales", json=scale, headers=w["nurse"]).status_code == 201
    assert (
        client.post(f"{base}/dose", json={"given_dose_mg": 56}, headers=w["nurse"]).status_code
        == 200
    )
    clock.set(minutes=40)
    board = client.get(f"/api/v1/scheduling/sites/{w['site_id']}/board", headers=w["nurse"]).json()
    row = next(c for c in board if c["booking_id"] == first["id"])
    assert row["phase"] == "monitoring" and row["session_id"] == sid
    assert row["next_due"].startswith("BP about 40 min after the dose")
    assert "(due)" in row["next_due"]
