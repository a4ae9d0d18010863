"""Session export through the database: sessions charted through the API, exported through
``export_bundle`` (what ``ketacare fhir export`` and the API share) and the CLI itself, on
SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.features.interop.exporter import export_bundle
from tests.fhir.fhir_support import cli_env, run, validate_both
from tests.sessions.support import CHECKLIST_OK, install_clock, setup

BASE = "https://clinic.example/fhir"
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"


def post(client: TestClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    r = client.post(url, json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


def chart(client: TestClient, app: FastAPI, w: dict[str, Any]) -> int:
    """An esketamine session: checklist (pre-dose reading) at 09:00, 56 mg at 09:05, vitals at
    09:45; returns the session id."""
    clock = install_clock(app)
    nurse = w["nurse"]
    created = post(client, f"/api/v1/patients/{w['patient_id']}/sessions", {"lot": "L123"}, nurse)
    sid: int = created["session"]["id"]
    base = f"/api/v1/sessions/{sid}"
    r = client.put(f"{base}/checklist", json=CHECKLIST_OK, headers=nurse)
    assert r.status_code == 200, r.text
    clock.set(minutes=5)
    post(client, f"{base}/dose", {"given_dose_mg": 56}, nurse)
    clock.set(minutes=45)
    vitals = {"systolic": 150, "diastolic": 92, "heart_rate": 88, "spo2": 97, "resp_rate": 14}
    post(client, f"{base}/vitals", vitals, nurse)
    return sid


def resources(bundle: dict[str, Any], rtype: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == rtype]


def references(value: Any) -> list[str]:
    """Every ``reference`` in a resource, however deep."""
    if isinstance(value, dict):
        own = [value["reference"]] if isinstance(value.get("reference"), str) else []
        return own + [r for v in value.values() for r in references(v)]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]
    return []


def assert_references_resolve(bundle: dict[str, Any]) -> None:
    """Every relative reference names a resource of the bundle."""
    present = {f"{e['resource']['resourceType']}/{e['resource']['id']}" for e in bundle["entry"]}
    missing = {r for e in bundle["entry"] for r in references(e["resource"])} - present
    assert not missing, missing


def check_session_export(bundle: dict[str, Any], pid: int, sid: int) -> None:
    """The MedicationAdministration and vital-sign Observations of the charted session."""
    validate_both(bundle)
    assert_references_resolve(bundle)
    [admin] = resources(bundle, "MedicationAdministration")
    assert admin["id"] == f"dose-{sid}" and admin["status"] == "completed"
    assert admin["identifier"] == [
        {"system": "https://ketacare.org/fhir/sid/treatment-session", "value": str(sid)}
    ]
    assert admin["subject"] == {"reference": f"Patient/{pid}"}
    assert admin["medicationCodeableConcept"]["coding"] == [
        {
            "system": "http://www.nlm.nih.gov/research/umls/rxnorm",
            "code": "2201623",
            "display": "esketamine Nasal Spray",
        }
    ]
    assert admin["effectivePeriod"] == {
        "start": "2025-03-03T09:05:00Z",
        "end": "2025-03-03T09:10:00Z",  # two 28 mg devices, 5 minutes apart
    }
    assert admin["dosage"]["dose"] == {"value": 56.0, "unit": "mg", "system": UCUM, "code": "mg"}
    assert admin["dosage"]["route"]["coding"][0]["code"] == "46713006"  # nasal route
    assert admin["note"] == [{"text": "Product: SPRAVATO (esketamine) nasal spray; Lot: L123"}]

    vitals = [
        o
        for o in resources(bundle, "Observation")
        if o["category"][0]["coding"][0]["code"] == "vital-signs"
    ]
    for o in vitals:
        assert o["subject"] == {"reference": f"Patient/{pid}"}
        assert o["partOf"] == [{"reference": f"MedicationAdministration/dose-{sid}"}]
        assert o["status"] == "final"

    def by_code(code: str) -> list[tuple[str, Any]]:
        return [
            (o["effectiveDateTime"], o.get("valueQuantity") or o["component"])
            for o in vitals
            if o["code"]["coding"][0]["system"] == LOINC and o["code"]["coding"][0]["code"] == code
        ]

    def q(value: int, unit: str, code: str) -> dict[str, Any]:
        return {"value": value, "unit": unit, "system": UCUM, "code": code}

    def bp(sbp: int, dbp: int) -> list[dict[str, Any]]:
        return [
            {
                "code": {"coding": [{"system": LOINC, "code": c, "display": d}]},
                "valueQuantity": q(v, "mmHg", "mm[Hg]"),
            }
            for c, d, v in (
                ("8480-6", "Systolic blood pressure", sbp),
                ("8462-4", "Diastolic blood pressure", dbp),
            )
        ]

    pre, after = "2025-03-03T09:00:00Z", "2025-03-03T09:45:00Z"
    assert by_code("85354-9") == [(pre, bp(130, 80)), (after, bp(150, 92))]
    assert by_code("8867-4") == [
        (pre, q(72, "beats/minute", "/min")),
        (after, q(88, "beats/minute", "/min")),
    ]
    assert by_code("59408-5") == [(pre, q(98, "%", "%")), (after, q(97, "%", "%"))]
    assert by_code("9279-1") == [(after, q(14, "breaths/minute", "/min"))]  # not in the checklist
    assert len(vitals) == 7


def test_charted_session_exports_dose_and_vitals(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = setup(db)
    sid = chart(client, app, w)
    bundle, ids = export_bundle(db, w["clinic_id"], BASE, w["patient_id"])
    db.commit()
    assert ids == [w["patient_id"]]
    check_session_export(bundle, w["patient_id"], sid)
    r = client.get("/fhir/Observation", params={"patient": w["patient_id"]}, headers=w["nurse"])
    assert r.status_code == 200, r.text
    found = [e["resource"] for e in r.json()["entry"] if e["resource"]["id"].startswith("vs-")]
    assert found == [o for o in resources(bundle, "Observation") if o["id"].startswith("vs-")]


def test_cli_export_carries_the_session(
    client: TestClient, app: FastAPI, db: Session, database_url: str, tmp_path: Path
) -> None:
    w = setup(db)
    sid = chart(client, app, w)
    out = tmp_path / "export.json"
    env = cli_env(database_url, tmp_path)
    r = run(env, "fhir", "export", "--patient", str(w["patient_id"]), "--out", str(out))
    assert r.returncode == 0, r.stderr
    bundle = json.loads(out.read_text(encoding="utf-8"))
    check_session_export(bundle, w["patient_id"], sid)
    assert bundle["entry"][0]["fullUrl"] == f"{BASE}/Patient/{w['patient_id']}"


def test_session_without_dose_links_nothing_missing(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    """A session stopped after the checklist has a pre-dose reading but no administration:
    its Observations must not point at a MedicationAdministration the bundle lacks."""
    w = setup(db)
    install_clock(app)
    nurse = w["nurse"]
    created = post(client, f"/api/v1/patients/{w['patient_id']}/sessions", {}, nurse)
    sid = created["session"]["id"]
    r = client.put(f"/api/v1/sessions/{sid}/checklist", json=CHECKLIST_OK, headers=nurse)
    assert r.status_code == 200, r.text
    bundle, _ = export_bundle(db, w["clinic_id"], BASE, w["patient_id"])
    db.commit()
    validate_both(bundle)
    assert resources(bundle, "MedicationAdministration") == []
    vitals = [o for o in resources(bundle, "Observation") if o["id"].startswith("vs-")]
    assert [o["code"]["coding"][0]["code"] for o in vitals] == ["85354-9", "8867-4", "59408-5"]
    assert all("partOf" not in o for o in vitals)
    assert_references_resolve(bundle)
    r = client.get("/fhir/Observation", params={"patient": w["patient_id"]}, headers=nurse)
    assert r.status_code == 200, r.text
    found = [e["resource"] for e in r.json()["entry"] if e["resource"]["id"].startswith("vs-")]
    assert found == vitals  # the API search maps readings the same way
