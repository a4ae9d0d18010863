"""The controlled-substance API, pages and CLI on both databases (issue 18.9)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.controlled.models import CsEvent
from tests.cli_runner import run_cli
from tests.conftest import PASSWORD, api_token, login, make_clinic, make_user
from tests.controlled.support import DEA, valid_dea
from tests.test_cli import cli_env

RECEIPT: dict[str, Any] = {
    "invoice_number": "INV-7",
    "supplier_name": "Pharma Supply Co",
    "supplier_address": "9 Depot Rd, Memphis TN",
    "supplier_dea": valid_dea("PS", "765432"),
    "received_at": "2026-12-01T15:00:00+00:00",
    "ndc": "0409-2051-05",
    "drug": "ketamine",
    "product": "Ketamine HCl 50 mg/mL, 10 mL vial",
    "form": "vial",
    "container_mg": "500",
    "concentration_mg_ml": 50,
    "lot": "LOT9",
    "expiry": "2027-12-31",
    "containers": 2,
}


def _world(db: Session) -> dict[str, Any]:
    clinic = make_clinic(db)
    other = make_clinic(db, "other", "Other")
    nurse = make_user(db, clinic, Role.nurse)
    clinician = make_user(db, clinic, Role.clinician)
    stranger = make_user(db, other, Role.clinician)
    out = {
        "nurse": {"Authorization": f"Bearer {api_token(db, nurse)}"},
        "clinician": {"Authorization": f"Bearer {api_token(db, clinician)}"},
        "stranger": {"Authorization": f"Bearer {api_token(db, stranger)}"},
        "nurse_email": nurse.email,
        "clinician_email": clinician.email,
        "clinic_id": clinic.id,
    }
    db.commit()
    return out


def test_api_walk_receive_draw_administer_waste_count_inventory_log(
    client: TestClient, db: Session
) -> None:
    w = _world(db)
    r = client.post("/api/v1/cs/registrations", headers=w["nurse"], json={
        "site_name": "Main", "dea_number": DEA, "address": "1 Main St", "registrant": "Dr A",
        "expires_on": "2028-01-31"})  # fmt: skip
    assert r.status_code == 403  # nurses do not manage registrations by default
    r = client.post("/api/v1/cs/registrations", headers=w["clinician"], json={
        "site_name": "Main", "dea_number": DEA, "address": "1 Main St", "registrant": "Dr A",
        "expires_on": "2028-01-31"})  # fmt: skip
    assert r.status_code == 201, r.text
    reg_id = r.json()["id"]
    body = {**RECEIPT, "registration_id": reg_id, "supplier_dea": "XX0000001"}
    bad = client.post("/api/v1/cs/receipts", headers=w["nurse"], json=body)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "supplier_dea"
    r = client.post("/api/v1/cs/receipts", headers=w["nurse"],
                    json={**RECEIPT, "registration_id": reg_id})  # fmt: skip
    assert r.status_code == 201, r.text
    vial = r.json()["containers"][0]
    assert (vial["balance_mg"], vial["balance_ml"]) == (500.0, 10.0)
    base = f"/api/v1/cs/containers/{vial['id']}/events"
    assert client.get(base, headers=w["stranger"]).status_code == 404
    r = client.post(base, headers=w["nurse"], json={"kind": "draw", "qty_mg": "700"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "qty_mg"
    draw = client.post(base, headers=w["nurse"], json={"kind": "draw", "qty_mg": "40"}).json()
    r = client.post(base, headers=w["nurse"],
                    json={"kind": "administer", "qty_mg": "35", "draw_id": draw["id"]})  # fmt: skip
    assert r.status_code == 201
    waste = {"kind": "waste", "qty_mg": "5", "draw_id": draw["id"], "method": "Rx Destroyer"}
    r = client.post(base, headers=w["nurse"], json=waste)
    assert r.status_code == 422 and "witness" in r.json()["detail"][0]["reason"]
    signed = {**waste, "witness_email": w["clinician_email"]}
    r = client.post(base, headers=w["nurse"], json={**signed, "witness_password": "nope-no"})
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "witness_password"
    r = client.post(base, headers=w["nurse"], json={**signed, "witness_password": PASSWORD})
    assert r.status_code == 201 and r.json()["witness"] == w["clinician_email"]
    assert r.json()["balance_mg"] == 460.0

    body = {"container_id": vial["id"], "counted_mg": "455", "significant": True}
    r = client.post("/api/v1/cs/counts", headers=w["nurse"], json=body)
    assert r.status_code == 201 and r.json()["case_id"]
    cases = client.get("/api/v1/cs/cases", headers=w["clinician"]).json()
    assert cases[0]["significant"] and cases[0]["notice_due"]

    body = {"registration_id": reg_id, "kind": "biennial", "timing": "close"}
    r = client.post("/api/v1/cs/inventories", headers=w["clinician"], json=body)
    assert r.status_code == 201, r.text
    inv = r.json()
    assert [line["balance_mg"] for line in inv["lines"]] == [460.0, 500.0]
    r = client.get(f"/api/v1/cs/inventories/{inv['id']}?format=pdf", headers=w["clinician"])
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    r = client.get(f"/api/v1/cs/log?registration_id={reg_id}&start=2026-12-01&end=2026-12-31"
                   "&format=csv", headers=w["clinician"])  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["kind"] for x in rows] == ["receive", "receive", "draw", "administer", "waste"]
    r = client.get(f"/api/v1/cs/log?registration_id={reg_id}&start=2026-12-31&end=2026-12-01",
                   headers=w["clinician"])  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "end"
    db.expire_all()
    exported = db.execute(select(AuditEvent.resource_id).where(AuditEvent.action == "export"))
    # the inventory PDF and the log CSV, each audited once (the stream is not a second read)
    assert sorted(x for (x,) in exported.all()) == sorted(
        [f"{reg_id}:2026-12-01:2026-12-31:csv", f"{inv['id']}:pdf"]
    )
    db.commit()


def test_dashboard_and_log_pages(client: TestClient, db: Session) -> None:
    w = _world(db)
    client.post("/api/v1/cs/registrations", headers=w["clinician"], json={
        "site_name": "Main", "dea_number": DEA, "address": "1 Main St", "registrant": "Dr A",
        "expires_on": "2028-01-31"})  # fmt: skip
    login(client, w["nurse_email"])
    r = client.get("/cs")
    assert r.status_code == 200 and "DEA " + DEA in r.text
    # the receive form is in the page once, not also inside <title>
    title = r.text.split("<title>", 1)[1].split("</title>", 1)[0]
    assert "<form" not in title and r.text.count('id="receive-form"') == 1


def test_cli_receive_count_inventory_log(database_url: str, db: Session, tmp_path: Path) -> None:
    w = _world(db)
    env = cli_env(database_url, tmp_path)
    receipt = tmp_path / "r.json"
    receipt.write_text(json.dumps({**RECEIPT, "registration_id": 999}))
    r = run_cli(env, "cs", "receive", "--as", w["nurse_email"], "--file", str(receipt))
    assert r.returncode == 2 and "registration" in r.stderr
    r = run_cli(env, "cs", "inventory", "--as", w["clinician_email"], "--registration", DEA)
    assert r.returncode == 2 and "--registration" in r.stderr
    from ketacare.features.controlled.models import CsRegistration

    db.add(CsRegistration(clinic_id=w["clinic_id"], site_name="Main", dea_number=DEA,
                          address="x", registrant="Dr", expires_on=date(2028, 1, 1)))  # fmt: skip
    db.commit()
    reg_id = db.execute(select(CsRegistration.id)).scalar_one()
    db.commit()
    receipt.write_text(json.dumps({**RECEIPT, "registration_id": reg_id, "received_at":
                                   "2026-01-05T15:00:00+00:00"}))  # fmt: skip
    r = run_cli(env, "cs", "receive", "--as", w["nurse_email"], "--file", str(receipt))
    assert r.returncode == 0, r.stderr
    label = r.stdout.splitlines()[1]
    r = run_cli(env, "cs", "count", "--as", w["nurse_email"], "--container", label,
                "--counted-mg", "abc")  # fmt: skip
    assert r.returncode == 2 and "--counted-mg" in r.stderr
    r = run_cli(env, "cs", "count", "--as", w["nurse_email"], "--container", label,
                "--counted-mg", "500")  # fmt: skip
    assert r.returncode == 0 and "case" not in r.stdout
    out = tmp_path / "inv.pdf"
    r = run_cli(env, "cs", "inventory", "--as", w["clinician_email"], "--registration", DEA,
                "--kind", "initial", "--timing", "opening", "--pdf", str(out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert out.read_bytes().startswith(b"%PDF")
    r = run_cli(env, "cs", "log", "--as", w["clinician_email"], "--registration", DEA,
                "--from", "2026-01-01", "--to", "2026-01-31")  # fmt: skip
    assert r.returncode == 0 and r.stdout.count("receive") == 2
    # Files: streamed CSV and PDF, each export audited once.
    csv_file, pdf_file = tmp_path / "log.csv", tmp_path / "log.pdf"
    r = run_cli(env, "cs", "log", "--as", w["clinician_email"], "--registration", DEA,
                "--from", "2026-01-01", "--to", "2026-01-31", "--csv", str(csv_file),
                "--pdf", str(pdf_file))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert csv_file.read_text().count("receive") == 2
    assert pdf_file.read_bytes().startswith(b"%PDF")
    db.expire_all()
    exports = db.scalars(
        select(AuditEvent.resource_id).where(AuditEvent.resource == "cs_log")
    ).all()
    assert sorted(x.rsplit(":", 1)[-1] for x in exports) == ["csv", "csv", "pdf"]
    assert len(db.execute(select(CsEvent)).all()) == 2
    db.commit()


def test_pages_receive_and_waste_with_a_witness(client: TestClient, db: Session) -> None:
    w = _world(db)
    client.post("/api/v1/cs/registrations", headers=w["clinician"], json={
        "site_name": "Main", "dea_number": DEA, "address": "1 Main St", "registrant": "Dr A",
        "expires_on": "2028-01-31"})  # fmt: skip
    login(client, w["nurse_email"])
    token = client.cookies.get("kc_csrf")
    form = {k: str(v) for k, v in RECEIPT.items()} | {"csrf_token": token or ""}
    form["received_at"] = "2026-12-01T10:00"
    form["registration_id"] = str(
        client.get("/api/v1/cs/registrations", headers=w["nurse"]).json()[0]["id"]
    )
    bad = client.post("/cs/receipts", data={**form, "ndc": "12"})
    assert bad.status_code == 422 and "ndc" in bad.text
    r = client.post("/cs/receipts", data=form)
    assert r.status_code == 303, r.text
    vial = client.get("/api/v1/cs/containers", headers=w["nurse"]).json()[0]
    page = f"/cs/containers/{vial['id']}"
    assert client.get(page).status_code == 200
    r = client.post(f"{page}/events", data={"csrf_token": token, "kind": "draw", "qty_mg": "10"})
    assert r.status_code == 303
    draw_id = client.get(f"/api/v1/cs/containers/{vial['id']}/events", headers=w["nurse"]).json()[
        -1
    ]["id"]
    waste = {"csrf_token": token, "kind": "waste", "qty_mg": "10", "draw_id": str(draw_id),
             "method": "Rx Destroyer"}  # fmt: skip
    r = client.post(f"{page}/events", data=waste)
    assert r.status_code == 422 and "CS-WIT" in r.text
    r = client.post(f"{page}/events", data={**waste, "witness_email": w["clinician_email"],
                                             "witness_password": PASSWORD})  # fmt: skip
    assert r.status_code == 303
    assert "490.0 mg" in client.get(page).text
