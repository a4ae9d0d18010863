"""Links delivered by the SMTP adapter to a real SMTP server (aiosmtpd on loopback)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.outreach.models import Invitation
from ketacare.features.outreach.notify import DeliveryFailed, Message, SmtpNotifier
from ketacare.settings import Settings
from ketacare.web.app import create_app
from tests.assessments.support import body_text, smtp_server, staff
from tests.browser import free_port


def test_schedule_sends_the_link_by_smtp(db: Session, settings: Settings) -> None:
    st = staff(db)
    with smtp_server() as smtp:
        cfg = settings.model_copy(
            update={"notifier": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                    "smtp_tls": "none", "smtp_from": "clinic@example.org"}
        )  # fmt: skip
        with TestClient(create_app(cfg), follow_redirects=False) as client:
            r = client.post(
                f"/api/v1/patients/{st.pid}/schedules",
                json={"instrument": "phq9", "recurrence": "once",
                      "start_date": utcnow().date().isoformat()},
                headers=st.headers,
            )  # fmt: skip
            assert r.status_code == 201
            (mail,) = smtp.wait(1)
            assert mail["To"] == "robin@example.org"
            assert mail["From"] == "clinic@example.org"
            text = body_text(mail)
            url = next(w for w in text.split() if "/a/" in w)
            assert url.startswith(f"{cfg.public_url}/a/")
            assert "Robin" not in text and "PHQ" not in text  # no name, no instrument
            assert client.get(url.replace(cfg.public_url, "")).status_code == 200
    inv = db.execute(select(Invitation)).scalar_one()
    db.commit()
    assert inv.delivery == "sent" and inv.sent_at is not None


def test_smtp_failure_is_reported() -> None:
    dead = SmtpNotifier("127.0.0.1", free_port(), "a@b.example", tls="none", timeout=2)
    with pytest.raises(DeliveryFailed):
        dead.send(Message("x@y.example", "s", "b", "u", "link", 1))
    with pytest.raises(DeliveryFailed, match="no address"):
        dead.send(Message("", "s", "b", "u", "link", 1))
