"""The chair board reads a fixed number of statements however many chairs hold an open
session (it built each chair's whole session state, eight statements, one chair at a time),
and the whole poll makes seven on PostgreSQL."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.domain.course.booking import Kind
from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling import board, queries
from ketacare.features.scheduling.models import Booking, BookingStatus
from ketacare.settings import Settings
from tests.conftest import login, make_user
from tests.scheduling.support import World, world
from tests.sessions.support import T0, make_session


def _seat(db: Session, w: World, clinic: Clinic, i: int, now: datetime) -> None:
    """Patient ``i`` checked in to chair ``i`` half an hour before ``now``, with an open IV
    session opened from the booking (committed)."""
    patient = db.get(Patient, w.patients[i])
    assert patient is not None
    s = make_session(db, clinic, patient, "iv")
    db.add(
        Booking(
            clinic_id=w.clinic_id, site_id=w.site_id, chair_id=w.chairs[i],
            patient_id=patient.id, session_id=s.id, kind=Kind.iv,
            starts_at=now - timedelta(minutes=30), ends_at=now + timedelta(minutes=90),
            status=BookingStatus.checked_in,
        )
    )  # fmt: skip
    db.commit()


def test_board_statements_do_not_grow_with_open_sessions(db: Session, settings: Settings) -> None:
    w = world(db, chairs=4, patients=4)
    clinic = db.get(Clinic, w.clinic_id)
    assert clinic is not None
    counts = []
    for i in range(4):
        _seat(db, w, clinic, i, T0)
        site = queries.get_site(db, w.clinic_id, w.site_id)
        seen: list[object] = []

        def tally(*args: object, seen: list[object] = seen) -> None:
            seen.append(args[2])

        engine = db.get_bind()
        event.listen(engine, "before_cursor_execute", tally)
        try:
            chairs = queries.list_chairs(db, site.id)
            rows, shown = board.chair_board(
                db, site, chairs, T0 - timedelta(hours=8), T0 + timedelta(hours=8), T0, settings
            )
        finally:
            event.remove(engine, "before_cursor_execute", tally)
        db.rollback()
        assert len(shown) == i + 1
        assert sum(r["phase"] != "free" for r in rows) == i + 1
        counts.append(len(seen))
    assert len(set(counts)) == 1, counts
    # The chairs, the bookings with patients and sessions, the vitals and scale scores, the
    # alerts (the poll reads the chairs with the site: test_a_poll_makes_seven_statements).
    assert counts[0] == 4, counts


def test_a_poll_makes_seven_statements(db: Session, settings: Settings, app: FastAPI) -> None:
    """The whole poll of board.json: the login's token, the site with its clinic and chairs,
    the bookings, the vitals and scale scores, the alerts, and the audit append (two
    statements on PostgreSQL; on SQLite, in-process, the BEGIN IMMEDIATE and the Core append
    reading the head, inserting and moving the head)."""
    w = world(db, chairs=3, patients=3)
    clinic = db.get(Clinic, w.clinic_id)
    assert clinic is not None
    for i in range(3):
        _seat(db, w, clinic, i, utcnow())
    nurse = make_user(db, clinic, Role.nurse)
    seen: list[str] = []

    def tally(*args: Any) -> None:
        seen.append(args[2])

    engine = db.get_bind()
    with TestClient(app, follow_redirects=False) as client:
        login(client, nurse.email)
        url = f"/scheduling/sites/{w.site_id}/board.json"
        assert client.get(url).status_code == 200  # warm: the app's first request
        event.listen(engine, "before_cursor_execute", tally)
        try:
            r = client.get(url)
        finally:
            event.remove(engine, "before_cursor_execute", tally)
    assert r.status_code == 200 and len(r.json()["chairs"]) == 3
    expected = 7 if engine.dialect.name == "postgresql" else 9
    assert len(seen) == expected, "\n".join(x[:80] for x in seen)


def test_front_desk_board_leaves_out_score_alerts(db: Session, settings: Settings) -> None:
    """The clinical board lists the patient's open score alerts; the front desk's read-only
    board (``clinical=False``) keeps the phase and what is due but not the alert."""
    from ketacare.features.assessments.models import Alert, Assessment, Source

    w = world(db, chairs=1, patients=1)
    clinic = db.get(Clinic, w.clinic_id)
    patient = db.get(Patient, w.patients[0])
    assert clinic is not None and patient is not None
    s = make_session(db, clinic, patient, "iv")
    a = Assessment(
        clinic_id=clinic.id, patient_id=patient.id, instrument_id="phq9",
        instrument_version="1.0.0", answers={}, total=20, band="severe",
        completed_at=T0 - timedelta(days=1), source=Source.clinician,
    )  # fmt: skip
    db.add(a)
    db.flush()
    db.add(Alert(clinic_id=clinic.id, patient_id=patient.id, assessment_id=a.id, rule_id="t",
                 level="urgent", reason="PHQ-9 item 9 answered above zero"))  # fmt: skip
    db.add(
        Booking(
            clinic_id=w.clinic_id, site_id=w.site_id, chair_id=w.chairs[0],
            patient_id=patient.id, session_id=s.id, kind=Kind.iv,
            starts_at=T0 - timedelta(minutes=30), ends_at=T0 + timedelta(minutes=90),
            status=BookingStatus.checked_in,
        )
    )  # fmt: skip
    db.commit()
    site = queries.get_site(db, w.clinic_id, w.site_id)
    day = (T0 - timedelta(hours=8), T0 + timedelta(hours=8))
    chairs = queries.list_chairs(db, site.id)
    clinical, _ = board.chair_board(db, site, chairs, *day, T0, settings)
    desk, _ = board.chair_board(db, site, chairs, *day, T0, settings, clinical=False)
    assert "urgent: PHQ-9 item 9 answered above zero" in clinical[0]["alerts"]
    assert not any("PHQ-9" in x for x in desk[0]["alerts"])
    assert desk[0]["phase"] == clinical[0]["phase"] and desk[0]["session_id"] is None
    db.rollback()
