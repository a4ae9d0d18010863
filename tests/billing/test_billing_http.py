"""Billing over HTTP on both databases: the billing user confirms G2083 through the API and the
page, prints the superbill, makes an 837P claim that pyx12 accepts, records a prior
authorisation that burns down, and a payment shows on the statement; reads are audited."""

from __future__ import annotations

import io
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import pyx12.params
import pyx12.x12n_document
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.billing import jobs
from ketacare.features.billing.models import Claim
from ketacare.settings import Settings
from tests.billing.support import signed, world
from tests.conftest import api_token, csrf, login

NOW = datetime(2025, 3, 12, 15, 0, tzinfo=UTC)


def pdf_text(body: bytes, tmp_path: Path) -> str:
    """The PDF's text (pdftotext; skipped without poppler, failed with CI=true)."""
    import os

    if shutil.which("pdftotext") is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("pdftotext (poppler-utils) is required when CI=true")
        pytest.skip("pdftotext not installed")
    src = tmp_path / "doc.pdf"
    src.write_bytes(body)
    out = subprocess.run(["pdftotext", "-layout", str(src), "-"], check=True,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    return out.stdout


@pytest.fixture
def fixed(app: FastAPI) -> None:
    app.state.clock = lambda: NOW


def test_api_confirm_claim_and_prior_auth(
    app: FastAPI, db: Session, settings: Settings, fixed: None
) -> None:
    w = world(db)
    signed(db, w, date(2025, 3, 3), 56)
    s = signed(db, w, date(2025, 3, 6), 84)
    headers = {"Authorization": f"Bearer {api_token(db, w.billing)}"}
    pid, sid, payer = w.patient.id, s.id, w.payer.id
    with TestClient(app) as c:
        auth = c.post(f"/api/v1/billing/patients/{pid}/prior-auths", headers=headers, json={
            "payer_id": payer, "codes": "G2082,G2083", "requested_on": "2025-02-20",
            "status": "approved", "auth_number": "PA-9", "approved_units": 8,
            "start_date": "2025-03-01", "end_date": "2025-05-31",
        })  # fmt: skip
        assert auth.status_code == 201, auth.text
        assert (auth.json()["used"], auth.json()["remaining"]) == (1, 7)
        view = c.get(f"/api/v1/billing/sessions/{sid}", headers=headers).json()
        assert [x["code"] for x in view["suggested"]] == ["G2083"]
        assert {r["rule_id"] for r in view["suggested"][0]["reasons"]} >= {"BILL-ESK-DOSE"}
        bad = c.post(f"/api/v1/billing/sessions/{sid}/confirm", headers=headers,
                     json={"codes": ["G2082"]})  # fmt: skip
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["field"] == "codes"
        ok = c.post(f"/api/v1/billing/sessions/{sid}/confirm", headers=headers,
                    json={"codes": ["G2083"]})  # fmt: skip
        assert ok.status_code == 200, ok.text
        assert [x["code"] for x in ok.json()["confirmed"]] == ["G2083"]
        claim = c.post(f"/api/v1/billing/patients/{pid}/claims", headers=headers,
                       json={"payer_id": payer, "diagnoses": ["F33.2"]})  # fmt: skip
        assert claim.status_code == 201, claim.text
        text = claim.json()["content"]
        assert "SV1*HC:G2083*1290*UN*1" in text
        ack = io.StringIO()
        assert pyx12.x12n_document.x12n_document(
            pyx12.params.params(), io.StringIO(text), ack, io.StringIO()
        ), ack.getvalue()
        again = c.post(f"/api/v1/billing/patients/{pid}/claims", headers=headers,
                       json={"payer_id": payer, "diagnoses": ["F33.2"]})  # fmt: skip
        assert again.status_code == 422  # nothing left to claim
        record = c.get(f"/api/v1/billing/patients/{pid}", headers=headers).json()
        assert record["lines"][0]["claim_id"] == claim.json()["id"]
    # The job delivers the claim to the file drop once.
    assert jobs.run(app.state.sessions, settings, NOW) == 1
    assert jobs.run(app.state.sessions, settings, NOW) == 0
    db.expire_all()
    stored = db.scalars(select(Claim)).one()
    assert Path(stored.delivered_to).read_text() == text
    events = db.scalars(select(AuditEvent).where(AuditEvent.patient_id == pid)).all()
    kinds = {(e.action, e.resource) for e in events}
    assert {("read", "billing_patient"), ("read", "billing_session"),
            ("export", "billing_claim"), ("disclose", "billing_claim")} <= kinds  # fmt: skip


def test_pages_confirm_superbill_and_statement(
    app: FastAPI, db: Session, fixed: None, tmp_path: Path
) -> None:
    w = world(db)
    signed(db, w, date(2025, 3, 3), 56)
    s = signed(db, w, date(2025, 3, 6), 84)
    email, sid, pid = w.billing.email, s.id, w.patient.id
    with TestClient(app, follow_redirects=False) as c:
        login(c, email)
        token = csrf(c, "/billing")
        page = c.get(f"/billing/sessions/{sid}")
        assert page.status_code == 200 and "G2083" in page.text
        r = c.post(f"/billing/sessions/{sid}/confirm",
                   data={"csrf_token": token, "code_G2083": "yes"})  # fmt: skip
        assert r.status_code == 303
        bill = c.get(f"/billing/sessions/{sid}/superbill.pdf?dx=F33.2")
        assert bill.status_code == 200 and bill.headers["content-type"] == "application/pdf"
        text = pdf_text(bill.content, tmp_path)
        assert "G2083" in text and "1234567893" in text and "F33.2" in text
        r = c.post(f"/billing/patients/{pid}/ledger", data={
            "csrf_token": token, "kind": "payment", "amount": "40.00", "on_date": "2025-03-06",
            "memo": "copay"})  # fmt: skip
        assert r.status_code == 303
        bad = c.post(
            f"/billing/patients/{pid}/ledger",
            data={"csrf_token": token, "kind": "payment", "amount": "-4", "on_date": "2025-03-06"},
        )
        assert bad.status_code == 422 and "amount" in bad.text
        statement = c.get(f"/billing/patients/{pid}/statement.pdf")
        assert "-$40.00" in pdf_text(statement.content, tmp_path)
        period = c.get(f"/billing/patients/{pid}/superbill.pdf?start=2025-03-01&end=2025-03-31")
        assert "G2083" in pdf_text(period.content, tmp_path)
        backwards = c.get(f"/billing/patients/{pid}/superbill.pdf?start=2025-03-31&end=2025-03-01")
        assert backwards.status_code == 422
        listing = c.get("/billing")
        assert "confirmed" in listing.text


def test_prior_auth_packet(app: FastAPI, db: Session, fixed: None, tmp_path: Path) -> None:
    w = world(db)
    signed(db, w, date(2025, 3, 3), 56)
    headers = {"Authorization": f"Bearer {api_token(db, w.clinician)}"}
    email, pid = w.billing.email, w.patient.id
    with TestClient(app, follow_redirects=False) as c:
        for answers in ([3, 3, 3, 3, 2, 2, 2, 2, 1], [1, 1, 1, 1, 1, 1, 0, 0, 0]):
            r = c.post(f"/api/v1/patients/{pid}/assessments", headers=headers,
                       json={"instrument": "phq9", "answers": answers})  # fmt: skip
            assert r.status_code == 201, r.text
        login(c, email)
        packet = c.get(f"/billing/patients/{pid}/prior-auth-packet.pdf?dx=F33.2")
        assert packet.status_code == 200
        bad = c.get(f"/billing/patients/{pid}/prior-auth-packet.pdf?dx=not%20a%20code%21")
        assert bad.status_code == 422
    text = pdf_text(packet.content, tmp_path)
    for expected in ("F33.2", "sertraline", "TRD:", "phq9: baseline 21", "current 6",
                     "Planned regimen", "REMS"):  # fmt: skip
        assert expected in text, text
    events = db.scalars(select(AuditEvent).where(AuditEvent.resource == "prior_auth_packet"))
    assert [e.patient_id for e in events] == [pid]
