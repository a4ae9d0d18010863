"""Issue 21.8: staff reset a forgotten password through an e-mailed, single-use, expiring link
("Forgot your password?" on the login page, or "E-mail a reset link" on the admin's user page).

Every test runs on SQLite and PostgreSQL, through the real pages (CSRF tokens, the app's
clock), with mail delivered to a local SMTP server, and checks what is stored and audited.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.admin.models import PasswordReset
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth import service as accounts
from ketacare.features.auth.models import Role, User
from tests.assessments.support import SmtpServer, body_text, smtp_server
from tests.conftest import PASSWORD, SECRET, csrf, login, make_clinic, make_user
from tests.portal.support import smtp_app

NEW_PASSWORD = "violet-lantern-harbour-42"
NOW = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def _client(app: FastAPI) -> TestClient:
    app.state.clock = lambda: NOW
    return TestClient(app, follow_redirects=False)


def _reset_path(smtp: SmtpServer, n: int = 1) -> str:
    """The path of the reset link in the ``n``-th mail received."""
    mail = smtp.wait(n)[n - 1]
    url = next(w for w in body_text(mail).split() if "/password/reset/" in w)
    return url[url.index("/password/reset/") :]


def _forgot(client: TestClient, email: str) -> Any:
    return client.post(
        "/password/forgot", data={"email": email, "csrf_token": csrf(client, "/password/forgot")}
    )


def _set(client: TestClient, path: str, new: str, confirm: str | None = None) -> Any:
    token = csrf(client, "/password/forgot")
    data = {"new_password": new, "confirm_password": new if confirm is None else confirm}
    return client.post(path, data={**data, "csrf_token": token})


def _events(db: Session) -> list[tuple[str, str, str, str]]:
    db.expire_all()
    rows = db.execute(
        select(AuditEvent.action, AuditEvent.resource, AuditEvent.resource_id,
               AuditEvent.actor_email)
        .where(AuditEvent.resource.in_(("password_reset", "user")))
        .order_by(AuditEvent.seq)
    ).all()  # fmt: skip
    db.commit()
    return [(a, r, str(i), e or "") for a, r, i, e in rows]


def _can_log_in(app: FastAPI, email: str, password: str) -> bool:
    with TestClient(app, follow_redirects=False) as c:
        c.get("/login")
        r = c.post("/login", data={"email": email, "password": password,
                                   "csrf_token": c.cookies.get("kc_csrf")})  # fmt: skip
        return r.status_code == 303


def test_forgotten_password_reset_by_mailed_link_once(
    db: Session, settings: Any, smtp: SmtpServer
) -> None:
    clinic = make_clinic(db)
    user = make_user(db, clinic, Role.nurse)
    uid, email = user.id, user.email
    app = smtp_app(settings, smtp)
    with _client(app) as client:
        login_page = client.get("/login").text
        assert 'href="/password/forgot"' in login_page
        r = _forgot(client, email.upper())  # typed any case
        assert r.status_code == 200 and 'id="reset-sent"' in r.text
        mail = smtp.wait(1)[0]
        assert mail["To"] == email and "Reset your Test Clinic password" in mail["Subject"]
        assert "until 2026-03-02" in body_text(mail) and "15:30" in body_text(mail)  # 30 min
        path = _reset_path(smtp)
        token = path.rsplit("/", 1)[1]
        # Only the HMAC is stored.
        db.expire_all()
        row = db.execute(select(PasswordReset).where(PasswordReset.user_id == uid)).scalar_one()
        assert row.token_hash == accounts.token_hash(SECRET, token) != token
        assert row.expires_at == NOW + timedelta(minutes=30) and row.sent_by_id is None
        db.commit()
        # Opening the link spends nothing; a refused password leaves it usable.
        page = client.get(path)
        assert page.status_code == 200 and email in page.text and 'id="new_password"' in page.text
        r = _set(client, path, NEW_PASSWORD, "something-else-entirely")
        assert r.status_code == 422 and "does not match" in r.text
        r = _set(client, path, "password")
        assert r.status_code == 422 and 'id="new_password-error"' in r.text
        assert _can_log_in(app, email, PASSWORD)  # nothing changed yet
        r = _set(client, path, NEW_PASSWORD)
        assert r.status_code == 303 and r.headers["location"] == "/login?reset=1"
        assert "Your password was changed" in client.get("/login?reset=1").text
        # Used once: the same link again is refused and changes nothing.
        again = _set(client, path, "another-fine-passphrase-7")
        assert again.status_code == 410 and "already been used" in again.text
        assert client.get(path).status_code == 410
    assert _can_log_in(app, email, NEW_PASSWORD)
    assert not _can_log_in(app, email, PASSWORD)
    events = _events(db)
    assert ("create", "password_reset", f"{row.id}:user:{uid}", "") in events
    assert ("update", "user", f"{uid}:password-reset-link:{row.id}", email) in events


def test_an_expired_link_is_refused(db: Session, settings: Any, smtp: SmtpServer) -> None:
    clinic = make_clinic(db)
    user = make_user(db, clinic, Role.clinician)
    email = user.email
    app = smtp_app(settings, smtp, password_reset_minutes=10)
    with _client(app) as client:
        _forgot(client, email)
        path = _reset_path(smtp)
        app.state.clock = lambda: NOW + timedelta(minutes=10)
        assert client.get(path).status_code == 410
        r = _set(client, path, NEW_PASSWORD)
        assert r.status_code == 410 and "expired" in r.text
        assert client.get("/password/reset/" + "x" * 43).status_code == 404
    assert _can_log_in(app, email, PASSWORD)


def test_the_answer_is_the_same_whatever_the_address(
    db: Session, settings: Any, smtp: SmtpServer
) -> None:
    """Unknown, a patient's, a deactivated account's or a staff member's: the same page; one
    mail, to the staff member only."""
    clinic = make_clinic(db)
    staff = make_user(db, clinic, Role.clinician).email
    patient = make_user(db, clinic, Role.patient).email
    gone = make_user(db, clinic, Role.nurse)
    gone.is_active = False
    gone_email = gone.email
    db.commit()
    app = smtp_app(settings, smtp)
    bodies = {}
    with _client(app) as client:
        for email in ("nobody@nowhere.example", patient, gone_email, staff):
            r = _forgot(client, email)
            assert r.status_code == 200, email
            bodies[email] = re.sub(r'value="[^"]{20,}"', "", r.text)
        assert _forgot(client, "not an address").status_code == 422
    assert len(set(bodies.values())) == 1
    assert [m["To"] for m in smtp.wait(1)] == [staff]
    db.expire_all()
    assert db.execute(select(PasswordReset)).scalars().all()[0].user_id != 0
    assert len(db.execute(select(PasswordReset)).scalars().all()) == 1
    db.commit()


def test_requests_are_rate_limited(db: Session, settings: Any, smtp: SmtpServer) -> None:
    clinic = make_clinic(db)
    email = make_user(db, clinic, Role.clinician).email
    app = smtp_app(settings, smtp, password_reset_email_rate_limit=2)
    with _client(app) as client:
        assert _forgot(client, email).status_code == 200
        assert _forgot(client, email).status_code == 200
        r = _forgot(client, email)
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
        assert "Too many reset requests" in r.text
    assert len(smtp.wait(2)) == 2


def test_admin_emails_a_reset_link_from_the_users_page(
    db: Session, settings: Any, smtp: SmtpServer
) -> None:
    clinic = make_clinic(db)
    admin = make_user(db, clinic, Role.admin)
    nurse = make_user(db, clinic, Role.nurse)
    patient = make_user(db, clinic, Role.patient)
    admin_id, admin_email, nurse_id, nurse_email = admin.id, admin.email, nurse.id, nurse.email
    patient_id = patient.id
    app = smtp_app(settings, smtp)
    with _client(app) as client:
        login(client, admin_email)
        page = client.get(f"/admin/users/{nurse_id}")
        assert 'id="send-reset-link"' in page.text
        token = client.cookies.get("kc_csrf")
        r = client.post(f"/admin/users/{nurse_id}/password-link", data={"csrf_token": token})
        assert r.status_code == 200 and 'id="link-sent"' in r.text and nurse_email in r.text
        refused = client.post(f"/admin/users/{patient_id}/password-link",
                              data={"csrf_token": token})  # fmt: skip
        assert refused.status_code == 422 and "patient sign-in" in refused.text
        assert _can_log_in(app, nurse_email, PASSWORD)  # the old password works until used
        path = _reset_path(smtp)
        assert smtp.wait(1)[0]["To"] == nurse_email
        assert _set(client, path, NEW_PASSWORD).status_code == 303
    assert _can_log_in(app, nurse_email, NEW_PASSWORD)
    db.expire_all()
    row = db.execute(select(PasswordReset)).scalar_one()
    assert row.sent_by_id == admin_id and row.used_at is not None
    db.commit()
    events = _events(db)
    assert ("create", "password_reset", f"{row.id}:user:{nurse_id}", admin_email) in events
    user = db.get(User, nurse_id)
    assert user is not None and user.failed_logins == 0
    db.commit()
