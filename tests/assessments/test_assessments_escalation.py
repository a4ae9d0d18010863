"""Escalation to the clinic's admins after the configured time (time set by the test), once
per alert however many runs or workers, logged in the action table and the audit log; the
``ketacare alerts escalate`` command for cron; the periodic task in the app lifespan."""

from __future__ import annotations

import io
import time
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.db.engine import get_engine, session_factory
from ketacare.features.assessments.models import Alert, AlertAction
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.outreach.jobs import run_once
from ketacare.features.outreach.models import Recurrence, Schedule
from ketacare.features.outreach.notify import ConsoleNotifier, Message, SmtpNotifier
from ketacare.settings import Settings
from ketacare.web.app import create_app
from tests.assessments.support import PHQ9_ITEM9_2, Staff, smtp_server, staff
from tests.conftest import count, make_user
from tests.test_cli import cli_env, run


def _raise_alert(client: TestClient, st: Staff) -> int:
    r = client.post(
        f"/api/v1/patients/{st.pid}/assessments",
        json={"instrument": "phq9", "answers": PHQ9_ITEM9_2},
        headers=st.headers,
    )
    assert r.status_code == 201
    return int(r.json()["alerts"][0]["id"])


def test_escalates_once_after_the_configured_time(
    client: TestClient, db: Session, settings: Settings
) -> None:
    st = staff(db)
    admin = make_user(db, st.clinic, Role.admin)
    admin_email = admin.email
    make_user(db, staff(db, "other").clinic, Role.admin)  # another clinic's admin: not told
    aid = _raise_alert(client, st)
    created = db.execute(select(Alert.created_at).where(Alert.id == aid)).scalar_one()
    db.commit()
    sessions = session_factory(get_engine(settings.database_url))
    limit = timedelta(minutes=settings.alert_escalate_minutes)
    with smtp_server() as smtp:
        mail = SmtpNotifier("127.0.0.1", smtp.port, "alerts@clinic.example", tls="none")
        early = run_once(sessions, settings, mail, created + limit - timedelta(seconds=1))
        assert early.escalated == 0
        due = created + limit
        assert run_once(sessions, settings, mail, due).escalated == 1
        # Other workers / cron runs later: nothing more.
        assert run_once(sessions, settings, mail, due + timedelta(hours=5)).escalated == 0
        got = smtp.wait(1)
    assert [m["To"] for m in got] == [admin_email]
    assert f"/alerts#alert-{aid}" in str(got[0].get_payload())
    assert "Robin" not in str(got[0])  # no patient name in the mail
    alert = db.execute(select(Alert).where(Alert.id == aid)).scalar_one()
    acts = db.execute(select(AlertAction.action).where(AlertAction.alert_id == aid)).all()
    esc = db.execute(
        select(AuditEvent).where(AuditEvent.action == "escalate", AuditEvent.resource == "alert")
    ).all()
    db.commit()
    assert alert.escalated_at == due and alert.status.value == "open"
    assert [a for (a,) in acts] == ["created", "escalated"]
    assert len(esc) == 1
    # The dashboard shows it escalated; acknowledging still works afterwards.
    r = client.post(f"/api/v1/alerts/{aid}/acknowledge", json={"note": "seen"}, headers=st.headers)
    assert r.status_code == 200 and r.json()["escalated_at"]


def test_cli_escalate(client: TestClient, db: Session, database_url: str, tmp_path: Path) -> None:
    st = staff(db)
    aid = _raise_alert(client, st)
    env = cli_env(database_url, tmp_path)
    r = run(env, "alerts", "escalate")
    assert r.returncode == 0 and "escalated 0 alert(s)" in r.stdout
    db.execute(update(Alert).values(created_at=utcnow() - timedelta(hours=3)))
    db.commit()
    r = run(env, "alerts", "escalate")
    assert r.returncode == 0, r.stderr
    assert "escalated 1 alert(s)" in r.stdout
    assert "escalated 0 alert(s)" in run(env, "alerts", "escalate").stdout
    assert count(db, AlertAction) == 2
    assert db.execute(select(Alert.escalated_at).where(Alert.id == aid)).scalar_one()
    db.commit()


def test_console_notifier_prints_only_link_and_patient_id() -> None:
    message = Message(
        "robin@example.org", "s", "Dear Robin, PHQ-9 total 21", "http://x/a/t", "link", 7
    )
    out = io.StringIO()
    ConsoleNotifier(out, show_links=True).send(message)
    assert out.getvalue() == "[ketacare link] patient 7: http://x/a/t\n"
    # By default (15.14) the one-time token never reaches the log.
    out = io.StringIO()
    ConsoleNotifier(out).send(message)
    assert out.getvalue().startswith("[ketacare link] patient 7: http://x/a/<redacted")
    assert "/a/t\n" not in out.getvalue()


def test_periodic_task_in_the_lifespan(
    db: Session, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    st = staff(db)
    fast = settings.model_copy(update={"periodic_interval_s": 0.2})
    with TestClient(create_app(fast)) as client:
        # Created through the model directly so that only the periodic task sends it.
        db.add(
            Schedule(
                clinic_id=st.clinic_id,
                patient_id=st.pid,
                instrument_id="phq9",
                recurrence=Recurrence.once,
                start_date=utcnow().date(),
            )
        )
        db.commit()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            printed = capsys.readouterr().out
            if f"patient {st.pid}: http" in printed:
                break
            time.sleep(0.1)
        else:
            raise AssertionError("the periodic task sent no link")
        assert client.get("/healthz").status_code == 200
