"""A prescriber on site for the whole esketamine session (issue 19.3), on SQLite and
PostgreSQL: the roster's prescriber shift counts like an attestation when the session opens,
and an esketamine session is signed only when attestations and roster together cover the time
from the first device to the discharge."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.compliance.rems_ops import uncovered
from ketacare.domain.course.booking import StaffRole
from ketacare.features.auth.actor import Actor
from ketacare.features.rems import service as rems
from ketacare.features.rems.models import RemsSessionCover
from ketacare.features.scheduling import service as scheduling
from ketacare.features.sessions.models import TreatmentSession
from ketacare.settings import Settings
from tests.conftest import make_clinic, scalar
from tests.intake_app.intake_support import make_patient
from tests.rems.test_rems_api import ENROLMENT, SETTING, start, world
from tests.sessions.support import T0, install_clock, make_session


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """The REMS gate on; the enrolment recorded by hand through the API."""
    return settings.model_copy(update={"rems_gate_enforced": True, "rems_enrolment_by_hand": True})


def h(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_uncovered_edges() -> None:
    assert uncovered([], h(0), h(1)) == [(h(0), h(1))]
    assert uncovered([(h(-2), h(-1)), (h(2), h(3))], h(0), h(1)) == [(h(0), h(1))]
    assert uncovered([(h(-1), h(0.5)), (h(0.25), h(2))], h(0), h(1)) == []
    assert uncovered([(h(0), h(0.5))], h(0), h(1)) == [(h(0.5), h(1))]


def test_a_rostered_prescriber_opens_the_session(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = world(db)
    install_clock(app)
    assert client.put("/api/v1/rems/setting", json=SETTING, headers=w["admin"]).status_code == 200
    r = client.post(
        f"/api/v1/patients/{w['patient_id']}/rems-enrolment", json=ENROLMENT,
        headers=w["clinician"],
    )  # fmt: skip
    assert r.status_code == 201
    r = start(client, w)
    assert r.status_code == 409 and "rems.prescriber.on_site" in r.json()["detail"][0]["reason"]
    actor = Actor.cli(w["clinic_id"])
    site = scheduling.create_site(db, actor, w["clinic_id"], "Main", "mon-sun 08:00-18:00", True)
    scheduling.add_shift(db, actor, site, "Dr Roster", StaffRole.prescriber, h(-1), h(7))
    db.commit()
    r = start(client, w)
    assert r.status_code == 201, r.text
    sid = r.json()["session"]["id"]
    cover = scalar(
        db, select(RemsSessionCover.prescriber_name).where(RemsSessionCover.session_id == sid)
    )
    assert cover == "Dr Roster"


def test_signing_needs_a_prescriber_for_the_whole_monitoring(
    db: Session, settings: Settings
) -> None:
    clinic = make_clinic(db)
    patient = make_patient(db, clinic)
    s = make_session(db, clinic, patient, "esketamine")
    s.dose_start, s.discharged_at = h(0), h(2.5)
    db.commit()
    actor = Actor.cli(clinic.id)
    rems.attest_prescriber(db, actor, clinic.id, "Dr A", h(-0.5), h(1), h(-0.5))
    db.commit()
    field, reasons = rems.check_session_sign(db, settings, s)
    assert field == "prescriber" and [r.rule_id for r in reasons] == ["rems.prescriber.monitoring"]
    assert "10:00–11:30" in reasons[0].text  # the gap, in clinic time (UTC here)
    # The roster covers the rest: attestation and shift together are enough.
    site = scheduling.create_site(db, actor, clinic.id, "Main", "mon-sun 08:00-18:00", True)
    scheduling.add_shift(db, actor, site, "Dr B", StaffRole.prescriber, h(0.75), h(4))
    db.commit()
    assert rems.check_session_sign(db, settings, s) == ("prescriber", [])
    # IV sessions, and a clinic that does not require the prescriber, are not checked.
    off = settings.model_copy(update={"rems_require_prescriber": False})
    s.dose_start = h(-3)
    assert rems.check_session_sign(db, off, s) == ("prescriber", [])
    s.route = "iv"
    assert rems.check_session_sign(db, settings, s) == ("prescriber", [])
    db.rollback()
    assert db.scalar(select(TreatmentSession.route).where(TreatmentSession.id == s.id)) == (
        "esketamine"
    )
