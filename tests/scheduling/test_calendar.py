"""Private ICS feeds (icalendar): a site's bookings and a clinician's shifts, revocation."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlalchemy.orm import Session

from ketacare.domain.course.booking import StaffRole
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from ketacare.features.scheduling import queries, service
from tests.conftest import api_token, make_user
from tests.scheduling.support import at
from tests.scheduling.test_scheduling_api import START, floor_setup
from tests.sessions.support import T0, install_clock


def test_site_and_personal_feeds_and_revocation(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    install_clock(app, T0)
    w = floor_setup(db, client)
    pid, site_id = w["patient_id"], w["site_id"]
    chair_id = queries.list_chairs(db, site_id)[0].id
    db.commit()
    r = client.post(
        f"/api/v1/scheduling/patients/{pid}/bookings",
        json={
            "site_id": site_id,
            "chair_id": chair_id,
            "kind": "iv",
            "starts_at": at(START, 10).isoformat(),
        },
        headers=w["nurse"],
    )
    db.commit()
    assert r.status_code == 201, r.text
    r = client.post("/api/v1/scheduling/feeds", json={"site_id": site_id}, headers=w["nurse"])
    assert r.status_code == 201, r.text
    feed = r.json()
    path = "/cal/" + feed["url"].split("/cal/")[1]
    r = client.get(path)
    assert r.status_code == 200, (path, r.text)
    assert r.headers["content-type"].startswith("text/calendar")
    cal = Calendar.from_ical(r.content)
    events = cal.walk("VEVENT")
    assert len(events) == 1
    assert events[0].decoded("dtstart") == at(START, 10)
    assert "Chair 1" in str(events[0]["summary"]) and "Ient" not in r.text  # no patient data
    # A clinician's own shifts.
    clinic = db.get(Clinic, w["clinic_id"])
    assert clinic is not None
    doc = make_user(db, clinic, Role.clinician)
    headers = {"Authorization": f"Bearer {api_token(db, doc)}"}
    db.commit()
    site = queries.get_site(db, clinic.id, site_id)
    service.add_shift(
        db,
        Actor.cli(clinic.id),
        site,
        "Dr P",
        StaffRole.prescriber,
        at(START, 8),
        at(START, 12),
        user_id=doc.id,
    )
    db.commit()
    mine = client.post("/api/v1/scheduling/feeds", json={}, headers=headers).json()
    shifts = Calendar.from_ical(client.get("/cal/" + mine["url"].split("/cal/")[1]).content)
    assert [str(e["summary"]) for e in shifts.walk("VEVENT")] == ["On shift at Main (prescriber)"]
    # Revocation; a nurse cannot revoke the clinician's own shift feed (404).
    r = client.post(f"/api/v1/scheduling/feeds/{mine['id']}/revoke", headers=w["nurse"])
    assert r.status_code == 404
    r = client.post(f"/api/v1/scheduling/feeds/{feed['id']}/revoke", headers=w["nurse"])
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert client.get(path).status_code == 404
    assert client.get("/cal/unknown-token-xyz.ics").status_code == 404
