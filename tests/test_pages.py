"""HTML pages through the real app: self-screen, consultation request, login, leads."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.mbc.screening import PFIZER_ATTRIBUTION, PHQ9_ITEMS
from ketacare.features.auth.models import Role
from ketacare.features.screening.models import Lead, Screening
from tests.conftest import PASSWORD, count, csrf, login, make_clinic, make_user, scalar


def answers(phq9: list[int] | None = None, gad7: list[int] | None = None) -> dict[str, str]:
    data: dict[str, str] = {}
    for i, v in enumerate(phq9 or [], start=1):
        data[f"phq9_{i}"] = str(v)
    for i, v in enumerate(gad7 or [], start=1):
        data[f"gad7_{i}"] = str(v)
    return data


def submit(client: TestClient, data: dict[str, str]) -> Any:
    return client.post("/screen", data={**data, "csrf_token": csrf(client)})


def test_screen_form_has_exact_wording_and_attribution(client: TestClient) -> None:
    html = client.get("/screen").text
    for text in PHQ9_ITEMS:
        assert text in html.replace("&#39;", "'")
    assert "Not at all sure" not in html and "Not at all" in html
    assert "Feeling nervous, anxious or on edge" in html
    assert PFIZER_ATTRIBUTION in html
    assert html.count('type="radio"') == 10 * 4 + 7 * 4


def test_result_with_item9_shows_crisis_panel_first(client: TestClient, db: Session) -> None:
    r = submit(client, answers([2, 2, 2, 2, 2, 0, 0, 0, 1], [2] * 7))
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    html = page.text
    assert page.status_code == 200
    assert "988" in html
    assert html.index('id="crisis-panel"') < html.index('id="phq9-result"')
    assert "11</span> out of 27" in html and "Moderate" in html
    assert "major\n  depression" in html or "major depression" in html.replace("\n  ", " ")
    assert "14</span> out of 21" in html
    assert count(db, Screening) == 1


def test_no_crisis_panel_when_item9_is_zero(client: TestClient) -> None:
    r = submit(client, answers([0] * 9, [0] * 7))
    html = client.get(r.headers["location"]).text
    assert 'id="crisis-panel"' not in html
    assert "do not match" in html


def test_crisis_text_is_configurable(client: TestClient, settings: Any) -> None:
    object.__setattr__(settings, "crisis_text", "Call the Samaritans on 116 123.")
    r = submit(client, answers([0] * 8 + [3]))
    assert "Call the Samaritans on 116 123." in client.get(r.headers["location"]).text


def test_incomplete_form_rerenders_with_messages_and_answers(
    client: TestClient, db: Session
) -> None:
    data = answers([1, 2, 3, 0, 1, 2, 3, 0])  # item 9 missing
    data["gad7_1"] = "7"
    r = submit(client, data)
    assert r.status_code == 422
    assert "PHQ-9 question 9: please choose an answer." in r.text
    assert "Question 1: choose one of the four answers." in r.text
    # Given answers are kept checked.
    assert re.search(r'name="phq9_3" value="3"\s+checked', r.text)
    assert count(db, Screening) == 0


def test_empty_form_is_refused(client: TestClient, db: Session) -> None:
    r = submit(client, {})
    assert r.status_code == 422 and "at least one questionnaire" in r.text
    assert count(db, Screening) == 0


def test_missing_csrf_is_refused(client: TestClient, db: Session) -> None:
    r = client.post("/screen", data=answers([0] * 9))
    assert r.status_code == 403 and "csrf_token" in r.text
    r = client.post("/screen", data={**answers([0] * 9), "csrf_token": "forged"})
    assert r.status_code == 403
    assert count(db, Screening) == 0


def test_consultation_request_and_validation(client: TestClient, db: Session) -> None:
    location = submit(client, answers([1] * 9)).headers["location"]
    token = csrf(client, location)
    bad = client.post(
        f"{location}/consult", data={"name": "", "email": "nope", "csrf_token": token}
    )
    assert bad.status_code == 422
    assert "Please tell us your name." in bad.text
    assert "Email address does not look right." in bad.text
    assert "Please confirm" in bad.text
    assert 'value="nope"' in bad.text
    assert count(db, Lead) == 0
    ok = client.post(
        f"{location}/consult",
        data={
            "name": "Dana",
            "phone": "555 0100",
            "preferred_time": "mornings",
            "consent": "yes",
            "csrf_token": token,
        },
    )
    assert ok.status_code == 200 and "Thank you" in ok.text
    assert count(db, Lead) == 1


def test_unknown_screening_is_404(client: TestClient) -> None:
    assert client.get("/screen/result/0123456789abcdef0123456789abcdef").status_code == 404


class TestStaffPages:
    def test_leads_need_login(self, client: TestClient) -> None:
        r = client.get("/leads")
        assert r.status_code == 303 and r.headers["location"] == "/login?next=/leads"

    def test_clinician_sees_lead_and_screening(self, client: TestClient, db: Session) -> None:
        location = submit(client, answers([3] * 9, [1] * 7)).headers["location"]
        client.post(
            f"{location}/consult",
            data={
                "name": "Eve",
                "email": "eve@example.org",
                "consent": "yes",
                "csrf_token": csrf(client, location),
            },
        )
        clinician = make_user(db, make_clinic(db), Role.clinician)
        login(client, clinician.email)
        page = client.get("/leads")
        assert page.status_code == 200 and "Eve" in page.text and "item 9 positive" in page.text
        lead_id = scalar(db, select(Lead.id))
        detail = client.get(f"/leads/{lead_id}")
        assert "PHQ-9 27" in detail.text
        r = client.post(
            f"/leads/{lead_id}/status",
            data={"status": "contacted", "note": "called", "csrf_token": csrf(client, "/leads")},
        )
        assert r.status_code == 303
        assert scalar(db, select(Lead.status).where(Lead.id == lead_id)).value == "contacted"
        bad = client.post(
            f"/leads/{lead_id}/status",
            data={"status": "lost", "csrf_token": csrf(client, "/leads")},
        )
        assert bad.status_code == 422 and "status" in bad.text

    def test_other_clinic_gets_404_and_patient_403(self, client: TestClient, db: Session) -> None:
        location = submit(client, answers([1] * 9)).headers["location"]
        client.post(
            f"{location}/consult",
            data={
                "name": "Fay",
                "phone": "555 0101",
                "consent": "yes",
                "csrf_token": csrf(client, location),
            },
        )
        lead_id = scalar(db, select(Lead.id))
        stranger = make_user(db, make_clinic(db, "other", "Other"), Role.admin)
        login(client, stranger.email)
        assert "Fay" not in client.get("/leads").text
        assert client.get(f"/leads/{lead_id}").status_code == 404
        client.post("/logout", data={"csrf_token": csrf(client, "/")})
        patient = make_user(db, make_clinic(db), Role.patient)
        login(client, patient.email)
        assert client.get("/leads").status_code == 403

    def test_login_failure_and_logout(self, client: TestClient, db: Session) -> None:
        user = make_user(db, make_clinic(db), Role.nurse)
        token = csrf(client, "/login")
        r = client.post(
            "/login", data={"email": user.email, "password": "wrong-password", "csrf_token": token}
        )
        assert r.status_code == 401 and "Email or password is wrong." in r.text
        r = client.post("/login", data={"email": user.email, "password": PASSWORD})
        assert r.status_code == 403  # no CSRF token
        login(client, user.email)
        cookie = client.cookies.get("kc_session")
        assert cookie
        assert client.get("/leads").status_code == 200
        client.post("/logout", data={"csrf_token": csrf(client, "/")})
        client.cookies.set("kc_session", cookie)  # a stolen cookie is dead after logout
        assert client.get("/leads").status_code == 303

    def test_session_cookie_flags(self, client: TestClient, db: Session) -> None:
        user = make_user(db, make_clinic(db), Role.nurse)
        client.get("/login")
        r = client.post(
            "/login",
            data={
                "email": user.email,
                "password": PASSWORD,
                "csrf_token": client.cookies.get("kc_csrf"),
            },
        )
        cookie = r.headers["set-cookie"].lower()
        assert "kc_session=" in cookie and "httponly" in cookie and "samesite=lax" in cookie

    def test_open_redirect_is_refused(self, client: TestClient, db: Session) -> None:
        user = make_user(db, make_clinic(db), Role.nurse)
        token = csrf(client, "/login")
        r = client.post(
            "/login",
            data={
                "email": user.email,
                "password": PASSWORD,
                "next": "https://evil.example/",
                "csrf_token": token,
            },
        )
        assert r.headers["location"] == "/home"

    def test_login_rate_limit(self, client: TestClient, db: Session, settings: Any) -> None:
        object.__setattr__(settings, "login_rate_limit", 3)
        token = csrf(client, "/login")
        codes = [
            client.post(
                "/login", data={"email": "x@y.z", "password": "nope-nope-nope", "csrf_token": token}
            ).status_code
            for _ in range(5)
        ]
        assert codes == [401, 401, 401, 429, 429]


def test_security_headers(client: TestClient) -> None:
    r = client.get("/screen")
    assert r.headers["x-frame-options"] == "DENY"
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert "unsafe-inline" not in r.headers["content-security-policy"]
    assert "strict-transport-security" not in r.headers
