"""JSON API on both databases: scores stored with alerts per rule, 422 naming the item with
nothing stored, idempotency, schedules CRUD, alerts and acknowledgement, tenancy, roles, audit."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.assessments.models import Alert, AlertAction, Assessment
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.outreach.models import Invitation
from tests.assessments.support import PHQ9_ITEM9_2, Staff, staff
from tests.conftest import api_token, count, make_user


def post(client: TestClient, st: Staff, body: dict[str, Any], **headers: str) -> Any:
    return client.post(
        f"/api/v1/patients/{st.pid}/assessments",
        json=body,
        headers={**st.headers, **headers},
    )


def rules(response: Any) -> list[str]:
    return [a["rule_id"] for a in response.json()["alerts"]]


def test_store_and_alert_rules(client: TestClient, db: Session) -> None:
    st = staff(db)
    t0 = utcnow() - timedelta(days=30)
    # Baseline PHQ-9 8 (mild): nothing raised.
    r = post(client, st, {"instrument": "phq9", "answers": [1] * 8 + [0], "completed_at":
             t0.isoformat(), "source": "api"})  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["total"] == 8 and r.json()["band"] == "mild" and rules(r) == []
    # Item 9 = 2: high alert.
    r = post(client, st, {"instrument": "phq9", "answers": PHQ9_ITEM9_2,
             "completed_at": (t0 + timedelta(days=7)).isoformat()})  # fmt: skip
    assert r.status_code == 201 and rules(r) == ["phq9.item9"]
    assert r.json()["alerts"][0]["level"] == "high"
    # 8 -> 21: worse than baseline by >= MCID 5, and entry into the severe band.
    r = post(client, st, {"instrument": "phq9", "answers": [3, 3, 3, 3, 3, 3, 3, 0, 0]})
    assert r.status_code == 201 and r.json()["total"] == 21
    assert sorted(rules(r)) == ["band.severe_entry", "worsening.mcid"]
    # Still severe: MCID again, but no new severe-band entry.
    r = post(client, st, {"instrument": "phq9", "answers": {str(i): 3 for i in range(1, 9)}
             | {"9": 0}})  # fmt: skip
    assert rules(r) == ["worsening.mcid"]
    # C-SSRS moderate (past behaviour) and high (ideation with intent).
    r = post(client, st, {"instrument": "cssrs-screen-recent",
             "answers": {"1": 0, "2": 0, "6": 1, "6a": 0}})  # fmt: skip
    assert rules(r) == ["cssrs.moderate"] and r.json()["alerts"][0]["level"] == "high"
    r = post(client, st, {"instrument": "cssrs-screen-recent",
             "answers": {"1": 1, "2": 1, "3": 1, "4": 1, "5": 0, "6": 0}})  # fmt: skip
    assert rules(r) == ["cssrs.high"] and r.json()["alerts"][0]["level"] == "critical"
    # Imported history raises nothing.
    r = post(client, st, {"instrument": "phq9", "answers": [3] * 9, "source": "imported",
             "completed_at": (t0 - timedelta(days=300)).isoformat()})  # fmt: skip
    assert r.status_code == 201 and rules(r) == []
    assert count(db, Assessment) == 7
    assert count(db, Alert) == 6
    assert count(db, AlertAction) == 6  # one "created" action per alert
    listed = client.get(f"/api/v1/patients/{st.pid}/assessments", headers=st.headers)
    assert [a["total"] for a in listed.json()][:2] == [27, 8]  # oldest first
    only = client.get(
        f"/api/v1/patients/{st.pid}/assessments?instrument=cssrs-screen-recent",
        headers=st.headers,
    )
    assert len(only.json()) == 2 and only.json()[0]["total"] is None


def test_bad_answers_422_name_the_item_and_store_nothing(client: TestClient, db: Session) -> None:
    st = staff(db)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"instrument": "phq9", "answers": [1, 1, 1, 1, 9, 1, 1, 1, 1]}, "phq9.5"),
        ({"instrument": "phq9", "answers": {"1": 1, "2": 1}}, "phq9.3"),
        ({"instrument": "gad7", "answers": {"1": 0, "99": 1}}, "gad7.99"),
        ({"instrument": "madrs", "answers": [7] + [0] * 9}, "madrs.1"),
        ({"instrument": "nope", "answers": [1]}, "instrument"),
        ({"instrument": "phq9", "answers": [0] * 9, "completed_at": "2999-01-01T00:00:00Z"},
         "completed_at"),
    ]  # fmt: skip
    for body, field in cases:
        r = post(client, st, body)
        assert r.status_code == 422, (body, r.text)
        assert r.json()["detail"][0]["field"] == field, r.json()
    assert count(db, Assessment) == 0 and count(db, Alert) == 0


def test_idempotency_key_stores_once(client: TestClient, db: Session) -> None:
    st = staff(db)
    body = {"instrument": "phq9", "answers": PHQ9_ITEM9_2}
    first = post(client, st, body, **{"Idempotency-Key": "k-1"})
    again = post(client, st, body, **{"Idempotency-Key": "k-1"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert rules(again) == ["phq9.item9"]
    assert count(db, Assessment) == 1 and count(db, Alert) == 1


def test_schedule_crud(client: TestClient, db: Session) -> None:
    st = staff(db)
    base = f"/api/v1/patients/{st.pid}/schedules"
    future = (utcnow() + timedelta(days=7)).date().isoformat()
    r = client.post(
        base,
        json={"instrument": "phq9", "recurrence": "every_n_weeks", "interval_weeks": 2,
              "start_date": future},
        headers=st.headers,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    sid = r.json()["id"]
    assert r.json()["interval_weeks"] == 2 and r.json()["active"] is True
    assert count(db, Invitation) == 0  # nothing due yet
    assert [s["id"] for s in client.get(base, headers=st.headers).json()] == [sid]
    bad = client.patch(f"{base}/{sid}", json={"until_date": "2000-01-01"}, headers=st.headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "until_date"
    r = client.patch(f"{base}/{sid}", json={"until_date": "2030-01-01"}, headers=st.headers)
    assert r.json()["until_date"] == "2030-01-01"
    assert client.delete(f"{base}/{sid}", headers=st.headers).status_code == 204
    assert client.get(f"{base}/{sid}", headers=st.headers).json()["active"] is False
    madrs = client.post(
        base,
        json={"instrument": "madrs", "recurrence": "once", "start_date": future},
        headers=st.headers,
    )
    assert madrs.status_code == 422 and madrs.json()["detail"][0]["field"] == "instrument"
    # Starting today: the first link is due now and is created in the same request.
    today = utcnow().date().isoformat()
    r = client.post(
        base, json={"instrument": "gad7", "recurrence": "weekly", "start_date": today},
        headers=st.headers,
    )  # fmt: skip
    assert r.status_code == 201
    assert count(db, Invitation) == 1
    overdue = client.get("/api/v1/overdue", headers=st.headers).json()
    assert [(o["patient_id"], o["instrument_id"], o["status"]) for o in overdue] == [
        (st.pid, "gad7", "open")
    ]


def test_alert_queue_and_acknowledgement(client: TestClient, db: Session) -> None:
    st = staff(db)
    post(client, st, {"instrument": "phq9", "answers": [0] * 9})
    post(client, st, {"instrument": "phq9", "answers": PHQ9_ITEM9_2})
    post(client, st, {"instrument": "cssrs-screen-recent", "answers":
         {"1": 1, "2": 1, "3": 0, "4": 1, "5": 0, "6": 0}})  # fmt: skip
    open_ = client.get("/api/v1/alerts?status=open", headers=st.headers).json()
    # Most urgent first; the warning is item 9 PHQ-9 (10) vs baseline 0: worse by >= MCID.
    assert [a["level"] for a in open_] == ["critical", "high", "warning"]
    aid = open_[1]["id"]
    url = f"/api/v1/alerts/{aid}/acknowledge"
    empty = client.post(url, json={"note": ""}, headers=st.headers)
    assert empty.status_code == 422
    r = client.post(url, json={"note": "Called; safety plan reviewed."}, headers=st.headers)
    assert r.status_code == 200 and r.json()["status"] == "acknowledged"
    assert r.json()["acknowledged_by_id"] == st.uid and r.json()["acknowledged_at"]
    twice = client.post(url, json={"note": "again"}, headers=st.headers)
    assert twice.status_code == 422 and "already" in twice.json()["detail"][0]["reason"]
    assert [a["id"] for a in client.get("/api/v1/alerts?status=open", headers=st.headers).json()] \
        == [open_[0]["id"], open_[2]["id"]]  # fmt: skip
    everything = client.get("/api/v1/alerts", headers=st.headers).json()
    assert [a["status"] for a in everything] == ["open", "open", "acknowledged"]
    acts = db.execute(
        select(AlertAction.action, AlertAction.actor_email, AlertAction.note)
        .where(AlertAction.alert_id == aid)
        .order_by(AlertAction.id)
    ).all()
    db.commit()
    assert [tuple(a) for a in acts] == [
        ("created", st.email, ""),  # raised by the clinician's submission
        ("acknowledged", st.email, "Called; safety plan reviewed."),
    ]
    events = db.execute(
        select(AuditEvent.action, AuditEvent.resource, AuditEvent.actor_email).where(
            AuditEvent.patient_id == st.pid
        )
    ).all()
    db.commit()
    seen = {(a, r) for a, r, _ in events}
    assert {("create", "assessment"), ("create", "alert"), ("acknowledge", "alert"),
            ("read", "patient")} <= seen  # fmt: skip
    assert ("acknowledge", "alert", st.email) in {tuple(e) for e in events}


def test_tenancy_and_roles(client: TestClient, db: Session) -> None:
    st = staff(db)
    other = staff(db, "other")
    post(client, st, {"instrument": "phq9", "answers": PHQ9_ITEM9_2})
    aid = client.get("/api/v1/alerts", headers=st.headers).json()[0]["id"]
    pid = st.pid
    for method, url, body in [
        ("GET", f"/api/v1/patients/{pid}/assessments", None),
        ("POST", f"/api/v1/patients/{pid}/assessments", {"instrument": "phq9",
                                                          "answers": [0] * 9}),
        ("GET", f"/api/v1/patients/{pid}/schedules", None),
        ("POST", f"/api/v1/alerts/{aid}/acknowledge", {"note": "x"}),
    ]:  # fmt: skip
        r = client.request(method, url, json=body, headers=other.headers)
        assert r.status_code == 404, (url, r.text)
    assert client.get("/api/v1/alerts", headers=other.headers).json() == []
    assert client.get("/api/v1/overdue", headers=other.headers).json() == []
    patient_user = make_user(db, st.clinic, Role.patient)
    as_patient = {"Authorization": f"Bearer {api_token(db, patient_user)}"}
    for url in (f"/api/v1/patients/{pid}/assessments", "/api/v1/alerts", "/api/v1/overdue"):
        assert client.get(url, headers=as_patient).status_code == 403
    assert client.get("/api/v1/alerts").status_code == 401
    assert count(db, Assessment) == 1
