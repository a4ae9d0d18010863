"""Sessions and accounts: expiry, idle timeout, logout everywhere, password policy, lockout
with back-off, security headers, idempotent form submissions."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.auth import service
from ketacare.features.auth.models import AuthToken, Role, TokenKind, User
from ketacare.features.auth.passwords import password_problem
from ketacare.features.screening.models import Lead, Screening
from tests.conftest import PASSWORD, SECRET, count, csrf, login, make_clinic, make_user


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("short", "at least 10"),
        ("password123", "too common"),
        ("Password1234", "too common"),
        ("aaaaaaaaaaaa", "repeated"),
        ("abababababab", "repeated"),
        ("1234567890", "too common"),
        ("abcdefghijklm", "run of keys"),
        (" spaced-password", "spaces"),
        ("jane.doe-secret", "email name"),
    ],
)
def test_password_policy_refuses(password: str, reason: str) -> None:
    problem = password_problem(password, "jane.doe@clinic.example")
    assert problem is not None and reason in problem


def test_password_policy_accepts_a_passphrase() -> None:
    assert password_problem("violet tram under the bridge", "jane@x.org") is None


def test_session_absolute_expiry_and_idle_timeout(db: Session) -> None:
    user = make_user(db, make_clinic(db), Role.nurse)
    policy = service.SessionPolicy(max_age=timedelta(hours=12), idle=timedelta(minutes=30))
    token = service.start_session(db, SECRET, user, policy)
    db.commit()
    now = utcnow()
    assert service.resolve(db, SECRET, token, TokenKind.session, policy, now) is not None
    # Idle: last use more than 30 minutes ago.
    db.execute(update(AuthToken).values(last_used_at=now - timedelta(minutes=31)))
    assert service.resolve(db, SECRET, token, TokenKind.session, policy, now) is None
    # Absolute: active all along but past the 12-hour lifetime.
    db.execute(update(AuthToken).values(last_used_at=now, expires_at=now - timedelta(seconds=1)))
    assert service.resolve(db, SECRET, token, TokenKind.session, policy, now) is None
    db.commit()


def test_idle_session_is_logged_out_in_the_app(client: TestClient, db: Session) -> None:
    user = make_user(db, make_clinic(db), Role.nurse)
    login(client, user.email)
    assert client.get("/patients").status_code == 200
    db.execute(update(AuthToken).values(last_used_at=utcnow() - timedelta(hours=1)))
    db.commit()
    assert client.get("/patients").status_code == 303


def test_logout_everywhere(app: Any, db: Session) -> None:
    user = make_user(db, make_clinic(db), Role.clinician)
    with TestClient(app, follow_redirects=False) as a, TestClient(app, follow_redirects=False) as b:
        login(a, user.email)
        login(b, user.email)
        assert a.get("/patients").status_code == b.get("/patients").status_code == 200
        r = a.post("/account/logout-all", data={"csrf_token": csrf(a, "/account")})
        assert r.status_code == 303
        assert b.get("/patients").status_code == 303
        assert a.get("/patients").status_code == 303


def test_change_password(client: TestClient, db: Session) -> None:
    user = make_user(db, make_clinic(db), Role.nurse)
    login(client, user.email)
    token = csrf(client, "/account")
    weak = client.post(
        "/account/password",
        data={"current_password": PASSWORD, "new_password": "password123", "csrf_token": token},
    )
    assert weak.status_code == 422 and "too common" in weak.text
    ok = client.post(
        "/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "violet tram under the bridge",
            "csrf_token": token,
        },
    )
    assert ok.status_code == 200 and "Password changed." in ok.text
    client.cookies.clear()
    login(client, user.email, "violet tram under the bridge")


# Failed-login throttling with back-off (per address and per email and address):
# tests/test_auth_hardening.py::test_failures_back_off_per_pair_and_per_address.


def scalar_user(db: Session, email: str) -> User:
    db.expire_all()
    user = db.execute(select(User).where(User.email == email)).scalar_one()
    db.commit()
    return user


def test_hsts_only_over_tls(client: TestClient, settings: Any, app: Any) -> None:
    assert "strict-transport-security" not in client.get("/screen").headers
    from ketacare.web.app import create_app

    secure = create_app(settings.model_copy(update={"secure_cookies": True}))
    with TestClient(secure) as c:
        headers = c.get("/screen").headers
    assert headers["strict-transport-security"].startswith("max-age=")
    assert headers["x-frame-options"] == "DENY"
    assert "'unsafe-inline'" not in headers["content-security-policy"]


def test_no_inline_scripts_in_pages(client: TestClient) -> None:
    for path in ("/", "/screen", "/login"):
        html = client.get(path).text
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), path
        assert " on" + "click=" not in html


def test_form_double_submit_stores_once(client: TestClient, db: Session) -> None:
    page = client.get("/screen").text
    key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', page)
    assert key
    data = {f"phq9_{i}": "1" for i in range(1, 10)}
    data |= {"idempotency_key": key.group(1), "csrf_token": client.cookies.get("kc_csrf") or ""}
    first = client.post("/screen", data=data)
    second = client.post("/screen", data=data)
    assert first.headers["location"] == second.headers["location"]
    assert count(db, Screening) == 1
    result = client.get(first.headers["location"]).text
    lead_key = re.search(r'name="idempotency_key" value="([0-9a-f]+)"', result)
    assert lead_key
    form = {
        "name": "Lee",
        "phone": "555 0100",
        "consent": "yes",
        "idempotency_key": lead_key.group(1),
        "csrf_token": data["csrf_token"],
    }
    for _ in range(2):
        assert client.post(f"{first.headers['location']}/consult", data=form).status_code == 200
    assert count(db, Lead) == 1
