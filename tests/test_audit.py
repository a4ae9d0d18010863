"""The hash-chained audit log: appended on access, verified, tamper detected, exported."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from ketacare.features.audit.service import record, verify_chain
from ketacare.features.auth.models import Role
from tests.cli_runner import run_cli
from tests.conftest import api_token, login, make_clinic, make_user
from tests.test_cli import cli_env


def _events(db: Session, n: int) -> None:
    user = make_user(db, make_clinic(db), Role.clinician)
    for i in range(n):
        record(db, user, "read", "patient", i, patient_id=i)
        db.commit()


def test_accesses_are_chained_and_verify(client: TestClient, db: Session) -> None:
    clinician = make_user(db, make_clinic(db), Role.clinician)
    headers = {"Authorization": f"Bearer {api_token(db, clinician)}"}
    pid = client.post(
        "/api/v1/patients", json={"given_name": "A", "family_name": "B"}, headers=headers
    ).json()["id"]
    for _ in range(3):
        assert client.get(f"/api/v1/patients/{pid}", headers=headers).status_code == 200
    report = verify_chain(db)
    db.commit()
    assert report.ok and report.checked == 4  # one create, three reads


def test_rolled_back_request_leaves_no_event(client: TestClient, db: Session) -> None:
    clinician = make_user(db, make_clinic(db), Role.clinician)
    headers = {"Authorization": f"Bearer {api_token(db, clinician)}"}
    bad = client.post(
        "/api/v1/patients",
        json={"given_name": "A", "family_name": "B", "mrn": "x" * 65},
        headers=headers,
    )
    assert bad.status_code == 422
    assert verify_chain(db).checked == 0
    db.commit()


def test_edit_is_detected(engine: Engine, db: Session) -> None:
    _events(db, 5)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor_email = 'someone@else' WHERE seq = 3"))
    report = verify_chain(db)
    db.commit()
    assert not report.ok and report.first_broken_seq == 3 and "changed" in report.reason


def test_deletion_in_the_middle_and_at_the_end_is_detected(engine: Engine, db: Session) -> None:
    _events(db, 5)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq = 2"))
    report = verify_chain(db)
    db.commit()
    assert not report.ok and report.first_broken_seq == 2 and "missing" in report.reason
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq >= 2"))
    report = verify_chain(db)
    db.commit()
    assert not report.ok and "head says 5" in report.reason


def test_cli_verify_and_export(
    database_url: str, engine: Engine, db: Session, tmp_path: Path
) -> None:
    _events(db, 3)
    env = cli_env(database_url, tmp_path)
    ok = run_cli(env, "audit", "verify")
    assert ok.returncode == 0 and "intact: 3 events" in ok.stdout
    out = tmp_path / "audit.csv"
    r = run_cli(
        env, "audit", "export", "--from", "2000-01-01", "--to", "2199-12-31", "--out", str(out)
    )
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [row["seq"] for row in rows] == ["1", "2", "3"] and rows[0]["hash"]
    bad = run_cli(env, "audit", "export", "--from", "yesterday", "--to", "2000-01-01")
    assert bad.returncode == 2 and "--from" in bad.stderr
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET action = 'x' WHERE seq = 2"))
    broken = run_cli(env, "audit", "verify")
    assert broken.returncode == 1 and "BROKEN at event 2" in broken.stderr


def test_admin_page_filters_and_is_admin_only(client: TestClient, db: Session) -> None:
    clinic = make_clinic(db)
    admin = make_user(db, clinic, Role.admin)
    clinician = make_user(db, clinic, Role.clinician)
    record(db, clinician, "read", "patient", 7, patient_id=7)
    record(db, clinician, "read", "patient", 8, patient_id=8)
    db.commit()
    login(client, clinician.email)
    assert client.get("/admin/audit").status_code == 403
    client.cookies.clear()
    login(client, admin.email)
    page = client.get("/admin/audit?patient=7")
    assert page.status_code == 200
    assert ">7</a>" in page.text and ">8</a>" not in page.text
    assert clinician.email in client.get(f"/admin/audit?actor={clinician.email}").text


def test_event_without_a_user_belongs_to_the_patients_clinic(db: Session) -> None:
    from ketacare.features.audit.models import AuditEvent
    from ketacare.features.patients.service import PatientInput, create_patient

    clinic = make_clinic(db, "linked")
    patient = create_patient(db, clinic.id, PatientInput("A", "B"))
    record(db, None, "create", "assessment", 1, patient_id=patient.id, channel="link")
    db.commit()
    event = db.execute(select(AuditEvent)).scalar_one()
    db.commit()
    assert event.clinic_id == clinic.id and event.actor_email == ""


def test_the_append_listens_on_ketacare_sessions_only(engine: Engine, db: Session) -> None:
    """The commit listener is registered on ketacare's session class (db/engine.py), not on
    every SQLAlchemy Session in the process; recording on another session is refused."""
    from sqlalchemy import event as sa_event

    from ketacare.db.engine import KetacareSession, session_factory
    from ketacare.features.audit import service

    assert isinstance(db, KetacareSession)
    assert sa_event.contains(KetacareSession, "before_commit", service._before_commit)
    assert not sa_event.contains(Session, "before_commit", service._before_commit)
    with Session(engine) as other:  # another library's session: no audit work at its commit
        other.info["ketacare.audit.pending"] = [{"not": "an event"}]
        other.commit()
        with pytest.raises(TypeError, match="session_factory"):
            record(other, None, "read", "patient", 1)
    with session_factory(engine)() as ours:
        record(ours, None, "read", "clinic", 1, clinic_id=None)
        ours.commit()
    assert (
        verify_chain(db).ok and db.execute(text("SELECT count(*) FROM audit_event")).scalar() == 1
    )
