"""Login, accounts and the HTTP envelope (issues 13 and 15): each test failed before its fix."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from ketacare.features.screening.models import Screening
from tests.conftest import PASSWORD, count, csrf, login, make_clinic, make_user


def _multipart(fields: dict[str, str]) -> tuple[bytes, str]:
    boundary = "KcBoundary7MA4YWxk"
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode()
        + value.encode()
        + b"\r\n"
        for name, value in fields.items()
    ]
    body = b"".join(parts) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    ("path", "fields", "field"),
    [
        ("/login", {"email": "a\x00b@x.example", "password": "x"}, "email"),
        ("/screen", {"phq9_1": "1\x00"}, "phq9_1"),
    ],
)
def test_nul_in_a_multipart_form_is_a_422(
    client: TestClient, db: Session, path: str, fields: dict[str, str], field: str
) -> None:
    """15.9: multipart/form-data bypassed the NUL guard (500 on PostgreSQL)."""
    token = csrf(client)
    body, kind = _multipart({"csrf_token": token, **fields})
    r = client.post(path, content=body, headers={"content-type": kind})
    assert r.status_code == 422, r.text
    assert f"{field}: must not contain NUL" in r.text
    assert count(db, Screening) == 0


def test_nul_in_a_multipart_staff_form_is_a_422(client: TestClient, db: Session) -> None:
    user = make_user(db, make_clinic(db), Role.clinician)
    login(client, user.email)
    token = client.cookies.get("kc_csrf") or ""
    body, kind = _multipart({"csrf_token": token, "given_name": "A\x00", "family_name": "B"})
    r = client.post("/patients/new", content=body, headers={"content-type": kind})
    assert r.status_code == 422, r.text
    assert "given_name: must not contain NUL" in r.text


def test_a_multipart_form_without_nul_still_works(client: TestClient, db: Session) -> None:
    user = make_user(db, make_clinic(db), Role.clinician)
    token = csrf(client, "/login")
    body, kind = _multipart({"csrf_token": token, "email": user.email, "password": "wrong-one"})
    r = client.post("/login", content=body, headers={"content-type": kind})
    assert r.status_code == 401


def test_favicon_is_served(client: TestClient) -> None:
    """13.21: /favicon.ico was 404."""
    r = client.get("/favicon.ico")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("image/")


def test_404_page_shows_the_logged_in_nav(client: TestClient, db: Session) -> None:
    """13.21: the 404 page showed 'Staff login' to a logged-in user."""
    user = make_user(db, make_clinic(db), Role.nurse)
    login(client, user.email)
    r = client.get("/no-such-page")
    assert r.status_code == 404
    assert user.email in r.text and "Log out" in r.text
    assert "Staff login" not in r.text


SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")


def test_middleware_refusals_carry_the_security_headers(client: TestClient) -> None:
    """15.18: the middleware's own 413 and 422 had no security headers."""
    big = client.post(
        "/api/v1/screenings", content=b"x" * 10, headers={"content-length": "99999999"}
    )
    nul_q = client.get("/api/v1/patients?q=%00")
    nul_page = client.post("/screen", data={"phq9_1": "1\x00"})
    for r, status in ((big, 413), (nul_q, 422), (nul_page, 422)):
        assert r.status_code == status
        for name in SECURITY_HEADERS:
            assert name in r.headers, (status, name)
        assert r.headers["cache-control"] == "no-store"


def test_api_and_fhir_responses_are_not_cached(client: TestClient, db: Session) -> None:
    """15.18: API and FHIR responses with patient data had no Cache-Control: no-store."""
    from tests.conftest import api_token

    user = make_user(db, make_clinic(db), Role.clinician)
    auth = {"Authorization": f"Bearer {api_token(db, user)}"}
    for path in ("/api/v1/patients", "/fhir/Observation"):
        r = client.get(path, headers=auth)
        assert r.status_code == 200, r.text
        assert r.headers["cache-control"] == "no-store", path


def test_api_docs_are_local_under_the_strict_csp(client: TestClient) -> None:
    """15.18 / 13.21: /docs loaded Swagger UI from a CDN with 'unsafe-inline'."""
    r = client.get("/docs")
    assert r.status_code == 200
    csp = r.headers["content-security-policy"]
    assert "unsafe-inline" not in csp and "http" not in csp
    assert "cdn" not in r.text and "<script>" not in r.text
    for asset in ("/static/swagger-ui/swagger-ui-bundle.js", "/static/swagger-ui/swagger-ui.css"):
        assert asset in r.text
        assert client.get(asset).status_code == 200


def test_changing_the_password_ends_the_other_sessions(app: Any, db: Session) -> None:
    """15.16: a password change left every other session valid."""
    user = make_user(db, make_clinic(db), Role.clinician)
    with TestClient(app, follow_redirects=False) as a, TestClient(app, follow_redirects=False) as b:
        login(a, user.email)
        login(b, user.email)
        r = a.post(
            "/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": "violet tram under the bridge",
                "csrf_token": csrf(a, "/account"),
            },
        )
        assert r.status_code == 200, r.text
        assert b.get("/patients").status_code == 303  # the other device is logged out
        assert a.get("/patients").status_code == 200  # the one that changed it stays in


def test_login_rotates_the_csrf_cookie(client: TestClient, db: Session) -> None:
    """15.16: the CSRF cookie set before login stayed the same after it."""
    user = make_user(db, make_clinic(db), Role.nurse)
    before = csrf(client, "/login")
    login(client, user.email)
    after = client.cookies.get("kc_csrf")
    assert after and after != before
    # The new token works on the next form.
    r = client.post("/logout", data={"csrf_token": after})
    assert r.status_code == 303


@pytest.mark.parametrize(
    "password",
    [
        "ketacare-demo",  # the published demo password
        "Ketacare2024!",  # product name + digits
        "ketamine12345",
        "zaq12wsxcde3",  # keyboard walks
        "1qaz2wsx3edc",
        "qazwsxedcrfv",
        "123456789a",  # in the breached list (Xato corpus), not in the old short list
        "manchester",
        "wonderwoman",
    ],
)
def test_password_policy_refuses_guessable_passwords(password: str) -> None:
    """15.17: the demo password, product name + digits and keyboard walks were accepted."""
    from ketacare.features.auth.passwords import password_problem

    assert password_problem(password, "jane@clinic.example") is not None


def test_password_policy_accepts_passphrases() -> None:
    from ketacare.features.auth.passwords import password_problem

    for ok in ("violet tram under the bridge", PASSWORD, "lonely-river-basket-9"):
        assert password_problem(ok, "jane@clinic.example") is None, ok


def test_only_the_demo_seed_may_use_the_demo_password(db: Session, settings: Any) -> None:
    from ketacare.features.auth import service
    from ketacare.features.system import demo

    clinic = make_clinic(db)
    with pytest.raises(service.AccountError, match="too common"):
        service.create_user(db, clinic, "x@clinic.example", Role.nurse, "ketacare-demo")
    seeded = demo.seed(db, settings)
    db.commit()
    assert {password for _, _, password in seeded} == {"ketacare-demo"}
    assert service.authenticate(db, seeded[0][0], "ketacare-demo").user is not None
