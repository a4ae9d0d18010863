"""A refused amendment comes back with the typed values and the error next to the form
(issue 13 point 13)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.features.sessions.models import SessionAmendment, SessionStatus, TreatmentSession
from tests.conftest import count, csrf, login
from tests.sessions.support import install_clock, setup


def test_refused_amendment_keeps_the_typed_values(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    install_clock(app)  # the plan's first session is on the clock's day
    w = setup(db)
    login(client, w["nurse_email"])
    token = csrf(client, f"/patients/{w['patient_id']}")
    r = client.post(f"/patients/{w['patient_id']}/sessions", data={"csrf_token": token})
    sid = int(r.headers["location"].rsplit("/", 1)[1])
    s = db.get(TreatmentSession, sid)
    assert s is not None
    s.status = SessionStatus.signed
    s.signed_at = datetime(2025, 3, 3, 12, tzinfo=UTC)
    db.commit()
    typed = {"change.lot": "L-NEW-9", "change.notes": "wrong lot typed", "reason": ""}
    r = client.post(f"/sessions/{sid}/amendments", data={"csrf_token": token, **typed})
    assert r.status_code == 422
    assert 'id="amend-error"' in r.text and "reason" in r.text
    assert 'value="L-NEW-9"' in r.text and 'value="wrong lot typed"' in r.text
    assert count(db, SessionAmendment) == 0
