"""The front desk's home (issue 17, docs/roles.md): today's bookings, the bookings of the
next days the patient has not confirmed and the waitlist; audited with the patients shown;
no clinical link or figure. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.domain.course.booking import Kind
from ketacare.features._kit import clock
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling import service
from ketacare.features.scheduling.models import Booking
from ketacare.features.scheduling.queries import get_site
from tests.conftest import login, make_user
from tests.scheduling.support import NY, world


def _local(day: date, hh: int) -> datetime:
    return datetime.combine(day, time(hh), tzinfo=NY).astimezone(UTC)


def test_front_desk_home_lists_today_unconfirmed_and_waitlist(
    client: TestClient, db: Session
) -> None:
    w = world(db, chairs=3, patients=4, days=1)
    clinic = db.get(Clinic, w.clinic_id)
    assert clinic is not None
    today = clock.local_date(utcnow(), "America/New_York")
    assert today is not None
    tomorrow = today + timedelta(days=1)
    rows = [
        # today, not confirmed; today, confirmed; tomorrow, not confirmed; tomorrow, confirmed
        (w.patients[0], w.chairs[0], _local(today, 12), None),
        (w.patients[1], w.chairs[1], _local(today, 12), utcnow()),
        (w.patients[2], w.chairs[0], _local(tomorrow, 10), None),
        (w.patients[3], w.chairs[1], _local(tomorrow, 10), utcnow()),
    ]
    for pid, chair, start, confirmed in rows:
        db.add(
            Booking(
                clinic_id=w.clinic_id, site_id=w.site_id, chair_id=chair, patient_id=pid,
                kind=Kind.iv, starts_at=start, ends_at=start + timedelta(hours=2),
                confirmed_at=confirmed,
            )
        )  # fmt: skip
    waiting = db.get(Patient, w.patients[3])
    assert waiting is not None
    get_site(db, w.clinic_id, w.site_id)
    service.join_waitlist(
        db, Actor.cli(w.clinic_id), waiting, w.site_id, Kind.iv, tomorrow, tomorrow
    )
    db.commit()
    user = make_user(db, clinic, Role.frontdesk)
    login(client, user.email)
    page = client.get("/home")
    assert page.status_code == 200, page.text
    text = page.text

    def section(key: str) -> str:
        start = text.index(f'id="home-desk-{key}"')
        return text[start : text.index("</section>", start)]

    today_rows, unconfirmed, waitlist = (section(k) for k in ("today", "unconfirmed", "waitlist"))
    assert "P0 Test" in today_rows and "P1 Test" in today_rows
    assert "P2 Test" not in today_rows
    assert today_rows.count("not confirmed") == 1
    assert (
        "P2 Test" in unconfirmed and "P3 Test" not in unconfirmed and "P1 Test" not in unconfirmed
    )
    assert "P3 Test" in waitlist and "waiting" in waitlist
    # Nothing clinical: no session, score, note or controlled-substance link in the page.
    for clinical in ("/sessions/", "/assessments", "/notes", "/controlled", "/rems", "PHQ"):
        assert clinical not in text, clinical
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.resource_id == "front_desk").order_by(AuditEvent.id)
    ).all()[-1]
    assert event.action == "list" and event.actor_email == user.email
    assert all(str(pid) in event.patients for pid in w.patients)
