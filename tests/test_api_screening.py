"""JSON API: screenings, leads, bearer tokens, tenancy, bad input (SQLite and PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.auth import service as accounts
from ketacare.features.auth.models import Role
from ketacare.features.screening.models import Lead, Screening
from tests.conftest import SECRET, api_token, count, make_clinic, make_user, scalar


def test_create_screening_returns_scores(client: TestClient, db: Session) -> None:
    r = client.post(
        "/api/v1/screenings", json={"phq9": [2, 2, 2, 2, 2, 0, 0, 0, 1], "gad7": [3] * 7}
    )
    assert r.status_code == 201
    body = r.json()
    assert len(body["id"]) == 32
    assert body["phq9"] == {
        "total": 11,
        "band": "moderate",
        "item9_positive": True,
        "major_depressive_syndrome": True,
    }
    assert body["gad7"] == {"total": 21, "band": "severe"}
    answers = scalar(db, select(Screening.phq9_answers).where(Screening.id == body["id"]))
    assert answers == [2, 2, 2, 2, 2, 0, 0, 0, 1]


def test_either_instrument_alone(client: TestClient) -> None:
    r = client.post("/api/v1/screenings", json={"gad7": [1] * 7})
    assert r.status_code == 201 and r.json()["phq9"] is None
    assert r.json()["gad7"] == {"total": 7, "band": "mild"}
    r = client.post("/api/v1/screenings", json={"phq9": [0] * 9})
    assert r.json()["phq9"]["band"] == "none" and r.json()["gad7"] is None


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"phq9": [0] * 8}, "phq9", "at least 9"),
        ({"phq9": [0] * 10}, "phq9", "at most 9"),
        ({"phq9": [0] * 8 + [4]}, "phq9[8]", "item 9: Input should be less than or equal to 3"),
        ({"phq9": [0] * 8 + [-1]}, "phq9[8]", "greater than or equal to 0"),
        ({"phq9": [0] * 8 + ["2"]}, "phq9[8]", "valid integer"),
        ({"phq9": [0] * 8 + [None]}, "phq9[8]", "valid integer"),
        ({"phq9": [0] * 8 + [1.5]}, "phq9[8]", "valid integer"),
        ({"phq9": "000000000"}, "phq9", "valid array"),
        ({"gad7": [0] * 6 + [True]}, "gad7[6]", "valid integer"),
        ({}, "body", "give phq9, gad7 or both"),
        ({"phq9": [0] * 9, "name": "x"}, "name", "Extra inputs"),
    ],
)
def test_bad_input_is_422_naming_field_and_stores_nothing(
    client: TestClient, db: Session, body: dict[str, Any], field: str, reason: str
) -> None:
    r = client.post("/api/v1/screenings", json=body)
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert any(d["field"] == field and reason in d["reason"] for d in detail), detail
    assert count(db, Screening) == 0


def test_malformed_json_is_422(client: TestClient, db: Session) -> None:
    r = client.post(
        "/api/v1/screenings", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422
    assert count(db, Screening) == 0


def test_oversized_body_is_413(client: TestClient, db: Session) -> None:
    r = client.post(
        "/api/v1/screenings",
        content=b"[" + b"0," * 600_000 + b"0]",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413
    assert count(db, Screening) == 0


def test_idempotency_key_stores_once(client: TestClient, db: Session) -> None:
    headers = {"Idempotency-Key": "abc-123"}
    first = client.post("/api/v1/screenings", json={"phq9": [1] * 9}, headers=headers)
    again = client.post("/api/v1/screenings", json={"phq9": [1] * 9}, headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert first.json() == again.json()
    assert count(db, Screening) == 1


def test_idempotency_key_replayed_from_another_address_gets_no_result(
    client: TestClient, db: Session
) -> None:
    """Issue 15.19: a key is scoped to the client; another address never sees the result."""
    headers = {"Idempotency-Key": "shared-key-1"}
    mine = client.post("/api/v1/screenings", json={"phq9": [3] * 9}, headers=headers)
    assert mine.status_code == 201
    transport: Any = client._transport  # the peer address the ASGI scope reports
    address = transport.client
    transport.client = ("203.0.113.9", 40000)
    other = client
    try:
        theirs = other.post("/api/v1/screenings", json={"gad7": [0] * 7}, headers=headers)
        assert theirs.status_code == 201
        assert theirs.json()["id"] != mine.json()["id"]
        assert theirs.json()["phq9"] is None  # not the first person's answers
        # The form path shares the scoping (one storage path): the same address and key
        # give that address's own screening back.
        data = {f"phq9_{i}": "0" for i in range(1, 10)} | {"idempotency_key": "shared-key-1"}
        data["csrf_token"] = other.get("/screen").cookies.get("kc_csrf") or ""
        r = other.post("/screen", data=data, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == f"/screen/result/{theirs.json()['id']}"
    finally:
        transport.client = address
    again = client.post("/api/v1/screenings", json={"phq9": [3] * 9}, headers=headers)
    assert again.status_code == 200 and again.json() == mine.json()
    assert count(db, Screening) == 2
    stored = db.execute(select(Screening.idempotency_key)).scalars().all()
    assert "shared-key-1" not in stored  # only the scoped HMAC is stored


def test_public_rate_limit(client: TestClient, settings: Any, db: Session) -> None:
    object.__setattr__(settings, "public_rate_limit", 3)
    codes = [
        client.post("/api/v1/screenings", json={"gad7": [0] * 7}).status_code for _ in range(5)
    ]
    assert codes == [201, 201, 201, 429, 429]
    assert count(db, Screening) == 3


def test_public_lead_api(client: TestClient, db: Session) -> None:
    sid = client.post("/api/v1/screenings", json={"phq9": [1] * 9}).json()["id"]
    r = client.post(
        "/api/v1/leads",
        json={"name": "Ana", "phone": "+1 555 0100", "consent": True, "screening_id": sid},
    )
    assert r.status_code == 201
    r = client.post("/api/v1/leads", json={"name": "Ana", "consent": True})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "contact"
    r = client.post("/api/v1/leads", json={"name": "Ana", "email": "a@b.co", "consent": False})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "consent"
    r = client.post(
        "/api/v1/leads",
        json={"name": "A", "email": "a@b.co", "consent": True, "screening_id": "nope"},
    )
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "screening_id"
    assert count(db, Lead) == 1


class TestStaffApi:
    def test_requires_bearer_token(self, client: TestClient) -> None:
        r = client.get("/api/v1/leads")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        r = client.get("/api/v1/leads", headers={"Authorization": "Bearer kc_pat_wrong"})
        assert r.status_code == 401

    def test_staff_reads_own_clinic_only(self, client: TestClient, db: Session) -> None:
        sid = client.post("/api/v1/screenings", json={"phq9": [3] * 9}).json()["id"]
        client.post(
            "/api/v1/leads",
            json={"name": "Bo", "email": "bo@x.org", "consent": True, "screening_id": sid},
        )
        home = make_clinic(db, "public")
        other = make_clinic(db, "other", "Other Clinic")
        nurse = make_user(db, home, Role.nurse)
        stranger = make_user(db, other, Role.admin)
        mine = {"Authorization": f"Bearer {api_token(db, nurse)}"}
        theirs = {"Authorization": f"Bearer {api_token(db, stranger)}"}
        leads = client.get("/api/v1/leads", headers=mine).json()
        assert [lead["name"] for lead in leads] == ["Bo"]
        assert leads[0]["screening"]["phq9"]["band"] == "severe"
        lead_id = leads[0]["id"]
        assert client.get(f"/api/v1/leads/{lead_id}", headers=mine).status_code == 200
        assert client.get(f"/api/v1/screenings/{sid}", headers=mine).status_code == 200
        # Another clinic's admin sees nothing of it: 404, not 403.
        assert client.get("/api/v1/leads", headers=theirs).json() == []
        assert client.get(f"/api/v1/leads/{lead_id}", headers=theirs).status_code == 404
        assert client.get(f"/api/v1/screenings/{sid}", headers=theirs).status_code == 404

    def test_patient_is_forbidden(self, client: TestClient, db: Session) -> None:
        patient = make_user(db, make_clinic(db), Role.patient)
        r = client.get(
            "/api/v1/leads", headers={"Authorization": f"Bearer {api_token(db, patient)}"}
        )
        assert r.status_code == 403

    def test_revoked_token_stops_working(self, client: TestClient, db: Session) -> None:
        user = make_user(db, make_clinic(db), Role.clinician)
        token = api_token(db, user)
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/leads", headers=headers).status_code == 200
        (row,) = accounts.api_tokens(db, user)
        assert row.token_hash == accounts.token_hash(SECRET, token) != token
        assert accounts.revoke_api_token(db, user, row.id)
        db.commit()
        assert client.get("/api/v1/leads", headers=headers).status_code == 401

    def test_session_cookie_is_not_accepted_by_api(self, client: TestClient, db: Session) -> None:
        from tests.conftest import login

        user = make_user(db, make_clinic(db), Role.clinician)
        login(client, user.email)
        assert client.get("/api/v1/leads").status_code == 401


def test_health_and_openapi(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["database"] == "up"
    spec = client.get("/openapi.json").json()
    assert "/api/v1/screenings" in spec["paths"]
    assert "/healthz" not in spec["paths"] and "/screen" not in spec["paths"]
    assert client.get("/docs").status_code == 200


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "field"),
    [
        (
            "post",
            "/api/v1/leads",
            {"json": {"name": "A\u0000B", "email": "a@b.co", "consent": True}},
            "name",
        ),
        (
            "post",
            "/api/v1/leads",
            {
                "json": {
                    "name": "A",
                    "email": "a@b.co",
                    "consent": True,
                    "preferred_time": ["x\u0000"],
                }
            },
            "preferred_time[0]",
        ),
        ("get", "/api/v1/patients?q=%00", {}, "q"),
    ],
)
def test_nul_characters_are_a_422_naming_the_field(
    client: TestClient, db: Session, method: str, url: str, kwargs: dict[str, Any], field: str
) -> None:
    r = getattr(client, method)(url, **kwargs)
    assert r.status_code == 422
    assert r.json()["detail"] == [
        {"field": field, "reason": "must not contain NUL (U+0000) characters"}
    ]
    assert count(db, Lead) == 0


def test_nul_in_a_page_form_is_a_422_page(client: TestClient, db: Session) -> None:
    r = client.post("/screen", data={"phq9_1": "1\x00"})
    assert r.status_code == 422 and "text/html" in r.headers["content-type"]
    assert "phq9_1: must not contain NUL" in r.text
    assert count(db, Screening) == 0
