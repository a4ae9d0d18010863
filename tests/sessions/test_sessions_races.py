"""Concurrent requests against a real server on SQLite and PostgreSQL (issues 13.2, 15.4,
15.20): one active plan per patient, one charting per planned session, one open session per
patient, and one stored reading per ``Idempotency-Key``. The database's unique indexes
decide; the losers get 409 (or, for a repeated key, the winner's result)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.features.intake.models import PlanStatus, TreatmentPlan
from ketacare.features.sessions.models import TreatmentSession, VitalSign
from tests import real_http
from tests.browser import live_server
from tests.sessions.support import install_clock, setup

N = 8


def _race(
    base: str, send: Callable[[real_http.Client], real_http.Response]
) -> list[real_http.Response]:
    """``N`` clients, each on its own connection, released at once."""
    barrier = threading.Barrier(N)
    out: list[Any] = [None] * N

    def run(i: int) -> None:
        with real_http.client(base_url=base, timeout=30) as client:
            barrier.wait()
            out[i] = send(client)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def _n(db: Session, stmt: Any) -> int:
    value = int(db.execute(stmt).scalar_one())
    db.commit()
    return value


def test_parallel_plans_leave_one_active_plan(app: FastAPI, db: Session) -> None:
    w = setup(db, "iv")
    pid = w["patient_id"]
    body = {"protocol_id": "iv-ketamine-induction", "start_date": "2025-03-03"}
    url = f"/api/v1/patients/{pid}/plan"
    with live_server(app) as base:
        answers = _race(base, lambda c: c.post(url, json=body, headers=w["clinician"]))
    codes = [r.status_code for r in answers]
    assert set(codes) <= {201, 409} and 201 in codes, codes
    assert all("plan" in r.text for r in answers if r.status_code == 409)
    active = select(func.count()).where(
        TreatmentPlan.patient_id == pid, TreatmentPlan.status == PlanStatus.active
    )
    assert _n(db, active) == 1


def test_parallel_starts_chart_a_planned_session_once(app: FastAPI, db: Session) -> None:
    w = setup(db, "iv")
    pid = w["patient_id"]
    install_clock(app)
    planned = db.execute(
        select(func.min(TreatmentPlan.id)).where(TreatmentPlan.patient_id == pid)
    ).scalar_one()
    db.commit()
    with live_server(app) as base:
        answers = _race(
            base,
            lambda c: c.post(f"/api/v1/patients/{pid}/sessions", json={}, headers=w["nurse"]),
        )
    codes = [r.status_code for r in answers]
    assert codes.count(201) == 1 and codes.count(409) == N - 1, codes
    assert _n(db, select(func.count()).select_from(TreatmentSession)) == 1
    assert planned is not None


def test_parallel_starts_of_different_planned_sessions_leave_one_open(
    app: FastAPI, db: Session
) -> None:
    w = setup(db, "iv")
    pid = w["patient_id"]
    install_clock(app)
    with live_server(app) as base:
        with real_http.client(base_url=base) as c:
            plan = c.get(f"/api/v1/patients/{pid}/plan", headers=w["nurse"]).json()
        ids = [s["id"] for s in plan["sessions"]]
        lock = threading.Lock()
        queue = [ids[i % len(ids)] for i in range(N)]

        def start(c: real_http.Client) -> real_http.Response:
            with lock:
                ps = queue.pop()
            return c.post(
                f"/api/v1/patients/{pid}/sessions",
                json={"planned_session_id": ps},
                headers=w["nurse"],
            )

        answers = _race(base, start)
    codes = [r.status_code for r in answers]
    assert codes.count(201) == 1 and codes.count(409) == N - 1, codes
    open_ = select(func.count()).where(
        TreatmentSession.patient_id == pid, TreatmentSession.status == "open"
    )
    assert _n(db, open_) == 1


def test_a_second_open_session_needs_a_clinicians_reason(app: FastAPI, db: Session) -> None:
    w = setup(db, "iv")
    pid = w["patient_id"]
    install_clock(app)
    with live_server(app) as base, real_http.client(base_url=base) as c:
        plan = c.get(f"/api/v1/patients/{pid}/plan", headers=w["nurse"]).json()
        first, second = (s["id"] for s in plan["sessions"][:2])
        url = f"/api/v1/patients/{pid}/sessions"
        r = c.post(url, json={"planned_session_id": first}, headers=w["nurse"])
        sid = r.json()["session"]["id"]
        r = c.post(url, json={"planned_session_id": second}, headers=w["nurse"])
        assert r.status_code == 409
        detail = r.json()["detail"][0]
        assert detail["field"] == "concurrent_reason" and f"session #{sid}" in detail["reason"]
        body = {"planned_session_id": second, "concurrent_reason": "first one abandoned"}
        assert c.post(url, json=body, headers=w["nurse"]).status_code == 403
        r = c.post(url, json=body, headers=w["clinician"])
        assert r.status_code == 201
        assert r.json()["session"]["planned_session_id"] == second
        assert c.post(url, json=body, headers=w["clinician"]).status_code == 409  # charted


def test_retried_vitals_with_one_key_store_one_reading(app: FastAPI, db: Session) -> None:
    w = setup(db, "iv")
    pid = w["patient_id"]
    install_clock(app)
    with live_server(app) as base:
        with real_http.client(base_url=base) as c:
            r = c.post(f"/api/v1/patients/{pid}/sessions", json={}, headers=w["nurse"])
            sid = r.json()["session"]["id"]
        headers = dict(w["nurse"], **{"Idempotency-Key": "retry-7f3a"})
        answers = _race(
            base,
            lambda c: c.post(
                f"/api/v1/sessions/{sid}/vitals", json={"heart_rate": 71}, headers=headers
            ),
        )
        assert [r.status_code for r in answers] == [201] * N
        with real_http.client(base_url=base) as c:
            other = c.post(
                f"/api/v1/sessions/{sid}/vitals", json={"heart_rate": 90}, headers=headers
            )
            assert other.status_code == 422
            assert other.json()["detail"][0]["field"] == "Idempotency-Key"
            for key in ("k" * 201, "bad key"):
                r = c.post(
                    f"/api/v1/sessions/{sid}/vitals",
                    json={"heart_rate": 90},
                    headers=dict(w["nurse"], **{"Idempotency-Key": key}),
                )
                assert r.status_code == 422, key
            ae = dict(w["nurse"], **{"Idempotency-Key": "ae-1"})
            body = {"term": "nausea", "severity": "mild"}
            for _ in range(2):
                r = c.post(f"/api/v1/sessions/{sid}/adverse-events", json=body, headers=ae)
                assert r.status_code == 201 and len(r.json()["adverse_events"]) == 1
    assert _n(db, select(func.count()).select_from(VitalSign)) == 1
