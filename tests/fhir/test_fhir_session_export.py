"""Session export through the database: sessions charted through the API (dose, vitals,
CADSS-6/MOAA-S, adverse events), exported through ``export_bundle`` (what ``ketacare fhir
export`` runs) and the CLI itself, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from ketacare.db.engine import unit_of_work
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.interop.exporter import export_bundle
from ketacare.features.interop.importer import import_bundle
from ketacare.features.patients.models import Patient
from ketacare.fhir.reader import BundleError
from tests.conftest import api_token, make_clinic, make_user
from tests.fhir.fhir_support import cli_env, run, validate_both
from tests.sessions.support import CADSS6_ZERO, CHECKLIST_OK, install_clock, iso, setup

BASE = "https://clinic.example/fhir"
UCUM = "http://unitsofmeasure.org"
LOINC = "http://loinc.org"


def post(client: TestClient, url: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    r = client.post(url, json=body, headers=headers)
    assert r.status_code in (200, 201), r.text
    return r.json()


CADSS6_PEAK = {"answers": {"1": 2, "2": 1, "6": 0, "7": 1, "15": 0, "22": 0}}


def chart(client: TestClient, app: FastAPI, w: dict[str, Any]) -> int:
    """An esketamine session: checklist (pre-dose reading), MOAA/S and CADSS-6 and anxiety at
    09:00, 56 mg at 09:05, vitals, CADSS-6, MOAA/S, nausea (09:40) and a serious respiratory
    depression at 09:45; returns the session id."""
    clock = install_clock(app)
    nurse = w["nurse"]
    created = post(client, f"/api/v1/patients/{w['patient_id']}/sessions", {"lot": "L123"}, nurse)
    sid: int = created["session"]["id"]
    base = f"/api/v1/sessions/{sid}"
    r = client.put(f"{base}/checklist", json=CHECKLIST_OK, headers=nurse)
    assert r.status_code == 200, r.text
    for instrument, extra in (("moaas", {"answers": {"1": 5}}), ("cadss6", CADSS6_ZERO)):
        body = {"instrument": instrument, "timepoint": "pre_dose", **extra}
        post(client, f"{base}/scales", body, nurse)
    post(client, f"{base}/adverse-events", {"term": "anxiety", "severity": "mild"}, nurse)
    clock.set(minutes=5)
    post(client, f"{base}/dose", {"given_dose_mg": 56}, nurse)
    clock.set(minutes=45)
    vitals = {"systolic": 150, "diastolic": 92, "heart_rate": 88, "spo2": 97, "resp_rate": 14}
    post(client, f"{base}/vitals", vitals, nurse)
    for instrument, extra in (("cadss6", CADSS6_PEAK), ("moaas", {"answers": {"1": 4}})):
        body = {"instrument": instrument, "timepoint": "peak", **extra}
        post(client, f"{base}/scales", body, nurse)
    nausea = {
        "term": "nausea",
        "severity": "moderate",
        "outcome": "resolving",
        "onset_at": iso(minutes=40),
    }
    post(client, f"{base}/adverse-events", nausea, nurse)
    serious = {
        "term": "respiratory_depression",
        "severity": "severe",
        "serious": True,
        "outcome": "resolved",
        "action": "oxygen",
    }
    post(client, f"{base}/adverse-events", serious, nurse)
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
            if (LOINC, code) in [(c["system"], c["code"]) for c in o["code"]["coding"]]
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
    assert by_code("2708-6") == by_code("59408-5")  # R4 oxygensat: both codings
    assert by_code("9279-1") == [(after, q(14, "breaths/minute", "/min"))]  # not in the checklist
    assert len(vitals) == 7

    scales = [o for o in resources(bundle, "Observation") if o["id"].startswith("scale-")]
    for o in scales:
        assert o["code"]["coding"][0]["system"] == (
            "https://ketacare.org/fhir/CodeSystem/instrument-total"
        )
        assert o["category"][0]["coding"][0]["code"] == "survey"
    assert [
        (
            o["code"]["coding"][0]["code"],
            o["component"][0]["valueCodeableConcept"]["coding"][0]["code"],
            o["effectiveDateTime"],
            o["valueQuantity"]["value"],
        )
        for o in scales
    ] == [
        ("moaas", "pre_dose", pre, 5),
        ("cadss6", "pre_dose", pre, 0),
        ("cadss6", "peak", after, 4),
        ("moaas", "peak", after, 4),
    ]
    for o in scales:
        assert o["subject"] == {"reference": f"Patient/{pid}"}
        assert o["partOf"] == [{"reference": f"MedicationAdministration/dose-{sid}"}]
        assert o["valueQuantity"]["code"] == "{score}"
    assert "answers" not in json.dumps(scales)  # totals only, never item answers

    events = resources(bundle, "AdverseEvent")
    assert [
        (
            e["event"]["coding"][0]["code"],
            e["date"],
            e["seriousness"]["coding"][0]["code"],
            e["severity"]["coding"][0]["code"],
            e.get("outcome", {}).get("coding", [{}])[0].get("code"),
        )
        for e in events
    ] == [
        ("anxiety", pre, "non-serious", "mild", "unknown"),
        ("nausea", "2025-03-03T09:40:00Z", "non-serious", "moderate", "recovering"),
        ("respiratory_depression", after, "serious", "severe", "resolved"),
    ]
    suspect = [{"instance": {"reference": f"MedicationAdministration/dose-{sid}"}}]
    assert [e.get("suspectEntity") for e in events] == [None, suspect, suspect]
    for e in events:
        assert e["actuality"] == "actual"
        assert e["subject"] == {"reference": f"Patient/{pid}"}
        assert e["event"]["coding"][0]["system"] == (
            "https://ketacare.org/fhir/CodeSystem/adverse-event-term"
        )


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
    """A session stopped after the checklist has a pre-dose reading, scale and event but no
    administration: nothing may point at a MedicationAdministration the bundle lacks."""
    w = setup(db)
    install_clock(app)
    nurse = w["nurse"]
    created = post(client, f"/api/v1/patients/{w['patient_id']}/sessions", {}, nurse)
    sid = created["session"]["id"]
    base = f"/api/v1/sessions/{sid}"
    r = client.put(f"{base}/checklist", json=CHECKLIST_OK, headers=nurse)
    assert r.status_code == 200, r.text
    moaas = {"instrument": "moaas", "timepoint": "pre_dose", "answers": {"1": 5}}
    post(client, f"{base}/scales", moaas, nurse)
    post(client, f"{base}/adverse-events", {"term": "headache", "severity": "mild"}, nurse)
    bundle, _ = export_bundle(db, w["clinic_id"], BASE, w["patient_id"])
    db.commit()
    validate_both(bundle)
    assert resources(bundle, "MedicationAdministration") == []
    vitals = [o for o in resources(bundle, "Observation") if o["id"].startswith("vs-")]
    assert [o["code"]["coding"][-1]["code"] for o in vitals] == ["85354-9", "8867-4", "59408-5"]
    assert all("partOf" not in o for o in vitals)
    [scale] = [o for o in resources(bundle, "Observation") if o["id"].startswith("scale-")]
    assert scale["valueQuantity"]["value"] == 5 and "partOf" not in scale
    [event] = resources(bundle, "AdverseEvent")
    assert event["event"]["coding"][0]["code"] == "headache" and "suspectEntity" not in event
    assert_references_resolve(bundle)
    r = client.get("/fhir/Observation", params={"patient": w["patient_id"]}, headers=nurse)
    assert r.status_code == 200, r.text
    found = [e["resource"] for e in r.json()["entry"] if e["resource"]["id"].startswith("vs-")]
    assert found == vitals  # the API search maps readings the same way
    for code in ("2708-6", "http://loinc.org|59408-5"):  # either SpO2 code finds the reading
        params = {"patient": w["patient_id"], "code": code}
        one = client.get("/fhir/Observation", params=params, headers=nurse).json()
        assert [e["resource"]["id"] for e in one["entry"]] == [vitals[2]["id"]], code
    assert [e["resource"] for e in r.json()["entry"] if e["resource"]["id"] == scale["id"]] == [
        scale
    ]


SCALE_SYSTEM = "https://ketacare.org/fhir/CodeSystem/instrument-total"


def test_observation_search_returns_session_scales_as_exported(
    client: TestClient, app: FastAPI, db: Session, engine: Engine
) -> None:
    """GET /fhir/Observation returns the session's CADSS-6 and MOAA/S totals exactly as the
    export builds them, filtered by patient, code and date, in one query for the scale rows,
    scoped to the clinic and audited."""
    w = setup(db)
    chart(client, app, w)
    bundle, _ = export_bundle(db, w["clinic_id"], BASE, w["patient_id"])
    db.commit()
    exported = [o for o in resources(bundle, "Observation") if o["id"].startswith("scale-")]
    assert len(exported) == 4
    by_id = {o["id"]: o for o in exported}
    pid = w["patient_id"]

    statements: list[str] = []

    def log(_conn: Any, _cursor: Any, sql: str, *_: Any) -> None:
        statements.append(sql)

    def search(headers: dict[str, str], **params: Any) -> dict[str, Any]:
        r = client.get("/fhir/Observation", params=params, headers=headers)
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        validate_both(body)  # fhirclient R4 and fhir.resources R4B, every entry
        return body

    def scale_ids(body: dict[str, Any]) -> list[str]:
        found = [e["resource"] for e in body.get("entry", [])]
        scales = [o for o in found if o["id"].startswith("scale-")]
        for o in scales:
            assert o == by_id[o["id"]]  # the same JSON as the export
        return [o["id"] for o in scales]

    ids = [o["id"] for o in exported]
    (moaas_pre, cadss_pre, cadss_peak, moaas_peak) = ids
    event.listen(engine, "before_cursor_execute", log)
    try:
        everything = search(w["nurse"], patient=pid)
    finally:
        event.remove(engine, "before_cursor_execute", log)
    assert scale_ids(everything) == ids  # by effective time, then id
    kinds = [e["resource"]["id"].split("-")[0] for e in everything["entry"]]
    assert kinds == sorted(kinds, key=["score", "vs", "scale"].index)  # after the vital signs
    assert len([s for s in statements if "scale_score" in s.lower()]) == 1
    assert scale_ids(search(w["nurse"])) == ids  # no patient: the whole clinic

    assert scale_ids(search(w["nurse"], patient=pid, code="cadss6")) == [cadss_pre, cadss_peak]
    by_system = search(w["nurse"], patient=f"Patient/{pid}", code=f"{SCALE_SYSTEM}|moaas")
    assert [e["resource"]["id"] for e in by_system["entry"]] == [moaas_pre, moaas_peak]
    mixed = search(w["nurse"], patient=pid, code="cadss6,http://loinc.org|8867-4")
    assert [e["resource"]["code"]["coding"][0]["code"] for e in mixed["entry"]] == [
        "8867-4",
        "8867-4",
        "cadss6",
        "cadss6",
    ]
    assert search(w["nurse"], patient=pid, code="http://loinc.org|moaas")["total"] == 0
    assert scale_ids(search(w["nurse"], patient=pid, code="cadss23")) == []

    assert scale_ids(search(w["nurse"], patient=pid, date="ge2025-03-03T09:30:00Z")) == [
        cadss_peak,
        moaas_peak,
    ]
    assert scale_ids(search(w["nurse"], patient=pid, date="le2025-03-03T09:00:00Z")) == [
        moaas_pre,
        cadss_pre,
    ]
    window = ["gt2025-03-03T09:00:00Z", "lt2025-03-03T09:45:00Z"]
    assert scale_ids(search(w["nurse"], patient=pid, date=window)) == []
    assert scale_ids(search(w["nurse"], patient=pid, date="2025-03-03", code="moaas")) == [
        moaas_pre,
        moaas_peak,
    ]
    assert scale_ids(search(w["nurse"], patient=pid, date="ge2025-03-04")) == []

    other = make_clinic(db, "other", "Other")
    outsider = {"Authorization": f"Bearer {api_token(db, make_user(db, other, Role.admin))}"}
    db.commit()
    r = client.get("/fhir/Observation", params={"patient": pid}, headers=outsider)
    assert r.status_code == 404
    assert search(outsider)["total"] == 0
    assert search(outsider, code="cadss6")["total"] == 0

    searches = db.execute(
        select(func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.channel == "fhir", AuditEvent.action == "search")
        .where(AuditEvent.resource == "fhir.Observation", AuditEvent.patient_id == pid)
    ).scalar_one()
    db.commit()
    assert searches == 11


def test_export_with_session_resources_imports_again(
    client: TestClient, app: FastAPI, db: Session, engine: Engine
) -> None:
    """A bundle with the session resources imports into another clinic: the patient is
    imported, the MedicationAdministration, vital-sign and CADSS/MOAA-S Observations and
    AdverseEvents are skipped with their reason; a malformed AdverseEvent adds nothing."""
    w = setup(db)
    chart(client, app, w)
    other = make_clinic(db, "other", "Other").id
    db.commit()
    bundle, _ = export_bundle(db, w["clinic_id"], BASE, w["patient_id"])
    db.commit()
    index = next(
        i for i, e in enumerate(bundle["entry"]) if e["resource"]["resourceType"] == "AdverseEvent"
    )
    bad = copy.deepcopy(bundle)
    del bad["entry"][index]["resource"]["identifier"], bad["entry"][index]["resource"]["id"]
    with pytest.raises(BundleError) as err, unit_of_work(engine) as s:
        import_bundle(s, other, bad, "bad.json", Actor(None, "cli"))
    assert err.value.index == index
    assert "AdverseEvent has no identifier, id or urn:uuid fullUrl" in str(err.value)
    in_other = select(func.count()).select_from(Patient).where(Patient.clinic_id == other)
    assert db.execute(in_other).scalar_one() == 0
    db.commit()

    with unit_of_work(engine) as s:
        report = import_bundle(s, other, bundle, "export.json", Actor(None, "cli"))
    assert report.added == report.patients_created == 1
    assert report.skipped == {
        "AdverseEvent: resource type not imported": 3,
        "MedicationAdministration: resource type not imported": 1,
        "Observation: not a total score of a known instrument": 11,  # 7 vitals, 4 scales
    }
    assert db.execute(in_other).scalar_one() == 1
    db.commit()
