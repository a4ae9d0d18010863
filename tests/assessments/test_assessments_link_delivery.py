"""Issue 13.4 (and 15.14's console notifier): links use the served address unless
KETACARE_PUBLIC_URL is set; staff see the real delivery state and can show, copy and resend a
fresh link; the console notifier never prints a working link by default."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.db.engine import get_engine, session_factory
from ketacare.features.audit.models import AuditEvent
from ketacare.features.outreach import service as outreach
from ketacare.features.outreach.jobs import deliver
from ketacare.features.outreach.models import Invitation
from ketacare.features.outreach.notify import notifier_from_settings
from ketacare.features.patients.models import Patient
from ketacare.settings import Settings
from tests.assessments.support import staff
from tests.conftest import login


def test_public_url_follows_the_served_port_unless_set(tmp_path: Path) -> None:
    def make(**kw: Any) -> Settings:
        return Settings(data_dir=tmp_path, secret_key="k" * 32, audit_key="a" * 32, **kw)

    assert make(port=8123).public_url == "http://127.0.0.1:8123"
    assert make(host="clinic.lan", port=9000).public_url == "http://clinic.lan:9000"
    set_ = make(port=8123, public_url="https://forms.clinic.example")
    assert set_.public_url == "https://forms.clinic.example"


def test_staff_see_delivery_state_and_copy_a_fresh_link(
    client: TestClient, db: Session, settings: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    st = staff(db)
    patient = db.get(Patient, st.pid)
    assert patient is not None
    now = utcnow()
    out = outreach.new_link(db, settings, patient, "phq9", now - timedelta(hours=1), now)
    db.commit()
    assert out is not None and out.url.startswith(settings.public_url + "/a/")
    old_token = out.url.rsplit("/", 1)[1]
    sessions = session_factory(get_engine(settings.database_url))
    assert deliver(sessions, settings, notifier_from_settings(settings), [out]) == {
        out.invitation_id: "logged"
    }
    printed = capsys.readouterr().out
    assert "[ketacare link]" in printed and old_token not in printed  # redacted by default
    login(client, st.email)
    page = client.get(f"/patients/{st.pid}/assessments")
    assert "only noted in the server log" in page.text and "sent by mail" not in page.text
    token = client.cookies.get("kc_csrf") or ""
    r = client.post(
        f"/patients/{st.pid}/links/{out.invitation_id}/resend", data={"csrf_token": token}
    )
    assert r.status_code == 200, r.text
    shown = re.search(r'id="shown-link-url" type="text" readonly value="([^"]+)"', r.text)
    assert shown and shown.group(1).startswith(settings.public_url + "/a/")
    # the copy button is shown by its script once it works: never a button that does nothing
    assert re.search(r'<button [^>]*id="copy-link"[^>]* hidden>', r.text), r.text
    assert "/static/links.js" in r.text
    new_token = shown.group(1).rsplit("/", 1)[1]
    assert new_token != old_token
    client.cookies.clear()
    assert client.get(f"/a/{old_token}").status_code == 404  # the old link stopped working
    assert client.get(f"/a/{new_token}").status_code == 200
    inv = db.execute(select(Invitation).where(Invitation.id == out.invitation_id)).scalar_one()
    resend = db.execute(select(AuditEvent).where(AuditEvent.action == "resend")).scalars().all()
    db.commit()
    assert inv.delivery == "shown" and len(resend) == 1
