"""Concurrent clients against a real server on SQLite and PostgreSQL: one PMF submission per
session, one countersignature per consent document. The database's unique constraints decide;
the losers get 409 and nothing else is stored."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.features.consent.models import ConsentDocument
from ketacare.features.rems.models import PmfSubmission
from ketacare.settings import Settings
from tests import real_http
from tests.browser import live_server
from tests.consent.test_consent_api import ESK, sign
from tests.consent.test_consent_api import world as consent_world
from tests.rems.test_rems_api import signed_session, world


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The REMS API records the paper enrolment ``signed_session`` uses."""
    return settings.model_copy(update={"rems_enrolment_by_hand": True})


N = 6


def race(base: str, send: Callable[[real_http.Client], real_http.Response]) -> list[int]:
    barrier = threading.Barrier(N)
    out: list[Any] = [None] * N

    def run(i: int) -> None:
        with real_http.client(base_url=base, timeout=30) as client:
            barrier.wait()
            out[i] = send(client).status_code

    threads = [threading.Thread(target=run, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return out


def count(db: Session, stmt: Any) -> int:
    value = int(db.execute(stmt).scalar_one())
    db.commit()
    return value


def test_parallel_pmf_submissions_store_one(client: TestClient, app: FastAPI, db: Session) -> None:
    w = world(db)
    sid = signed_session(client, app, w)
    body = {"channel": "portal", "confirmation": "C-9"}
    url = f"/api/v1/sessions/{sid}/pmf-submission"
    with live_server(app) as base:
        codes = race(base, lambda c: c.post(url, json=body, headers=w["nurse"]))
    assert codes.count(201) == 1 and codes.count(409) == N - 1, codes
    assert count(db, select(func.count()).select_from(PmfSubmission)) == 1


def test_parallel_countersignatures_store_one(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = consent_world(db)
    tid = client.post("/api/v1/consent/templates", json=ESK, headers=w["admin"]).json()["id"]
    doc = sign(client, w, tid).json()
    url = f"/api/v1/consent-documents/{doc['id']}/countersign"
    with live_server(app) as base:
        codes = race(base, lambda c: c.post(url, headers=w["clinician"]))
    assert codes.count(201) == 1 and codes.count(409) == N - 1, codes
    kinds = select(func.count()).where(ConsentDocument.kind == "countersigned")
    assert count(db, kinds) == 1
