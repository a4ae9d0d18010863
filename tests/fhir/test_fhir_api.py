"""The /fhir API driven by the fhirclient package against a live uvicorn server (no mocks)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
from fastapi import FastAPI
from fhirclient import client as fhir_client
from fhirclient.models.observation import Observation
from fhirclient.models.patient import Patient as FhirPatient
from fhirclient.models.questionnaire import Questionnaire
from fhirclient.models.questionnaireresponse import QuestionnaireResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.assessments.models import Alert, Assessment, Source
from ketacare.features.assessments.service import store_assessment
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.patients.models import Patient
from ketacare.features.patients.service import PatientInput, create_patient
from tests.browser import live_server
from tests.conftest import api_token, count, make_clinic, make_user
from tests.fhir.fhir_support import validate_both

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    with live_server(app) as base:
        yield base + "/fhir/"


def smart(base: str, token: str) -> fhir_client.FHIRClient:
    c = fhir_client.FHIRClient(settings={"app_id": "ketacare-tests", "api_base": base})
    c.server.session.headers["Authorization"] = f"Bearer {token}"
    return c


def world(db: Session) -> tuple[int, int, str, str]:
    clinic = make_clinic(db)
    other = make_clinic(db, "other", "Other")
    patient = create_patient(db, clinic.id, PatientInput("Ada", "Sample", "1980-05-17", "female"))
    foreign = create_patient(db, other.id, PatientInput("Bo", "Else", "1970-01-01"))
    store_assessment(
        db,
        patient,
        "phq9",
        [1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
        Source.clinician,
        Actor(None, "test"),
        completed_at=datetime(2025, 1, 10, 9, 0, tzinfo=UTC),
    )
    store_assessment(
        db,
        patient,
        "gad7",
        [1, 1, 1, 1, 1, 0, 0],
        Source.clinician,
        Actor(None, "test"),
        completed_at=datetime(2025, 2, 10, 9, 0, tzinfo=UTC),
    )
    ids = patient.id, foreign.id
    db.commit()
    token = api_token(db, make_user(db, clinic, Role.clinician))
    other_token = api_token(db, make_user(db, other, Role.admin))
    return ids[0], ids[1], token, other_token


def phq9_response(pid: int, answers: list[int]) -> dict[str, Any]:
    freq = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    difficulty = ["LA6572-7", "LA6573-5", "LA6575-0", "LA6574-3"]  # LOINC order (clinical.md §2.1)
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "https://ketacare.org/fhir/Questionnaire/phq9|1.0.0",
        "status": "completed",
        "subject": {"reference": f"Patient/{pid}"},
        "authored": "2025-03-01T10:00:00Z",
        "item": [
            {
                "linkId": str(i),
                "answer": [
                    {
                        "valueCoding": {
                            "system": "http://loinc.org",
                            "code": (difficulty if i == 10 else freq)[v],
                        }
                    }
                ],
            }
            for i, v in enumerate(answers, start=1)
        ]
        + [{"linkId": "total", "answer": [{"valueDecimal": 99}]}],
    }


def test_fhirclient_reads_searches_and_writes(db: Session, server: str) -> None:
    pid, _, token, _ = world(db)
    c = smart(server, token)
    cap = c.server.capabilityStatement  # fetched from /fhir/metadata and parsed strictly
    assert cap.fhirVersion == "4.0.1"
    assert {r.type for r in cap.rest[0].resource} == {
        "Patient",
        "Observation",
        "QuestionnaireResponse",
        "Questionnaire",
    }
    patient = FhirPatient.read(str(pid), c.server)
    assert patient.name[0].family == "Sample" and patient.birthDate.isostring == "1980-05-17"
    q = Questionnaire.read("phq9", c.server)
    assert q.code[0].code == "44249-1"

    search = Observation.where({"patient": str(pid), "code": "http://loinc.org|44261-6"})
    found = list(search.perform_resources_iter(c.server))
    assert [(o.code.coding[0].code, o.valueQuantity.value) for o in found] == [("44261-6", 5)]
    dated = Observation.where({"patient": f"Patient/{pid}", "date": "ge2025-02-01"})
    assert [o.code.coding[0].code for o in dated.perform_resources_iter(c.server)] == ["70274-6"]

    created = QuestionnaireResponse(phq9_response(pid, [2, 2, 1, 1, 1, 1, 1, 1, 1, 0]))
    try:
        body = created.create(c.server)
    except requests.HTTPError as exc:
        raise AssertionError(exc.response.text if exc.response is not None else exc) from exc
    assert body is not None
    validate_both(body)
    stored = QuestionnaireResponse(body)
    assert stored.item[-1].answer[0].valueDecimal == 11  # recomputed, the supplied 99 ignored
    db.expire_all()
    row = db.execute(select(Assessment).where(Assessment.source == Source.api)).scalar_one()
    alerts = db.execute(select(Alert.rule_id).where(Alert.assessment_id == row.id)).scalars().all()
    db.commit()
    assert row.total == 11 and "item9_positive" in row.flags
    assert alerts, "item 9 must raise an alert as in the app"

    responses = QuestionnaireResponse.where({"patient": str(pid)}).perform_resources_iter(c.server)
    assert len(list(responses)) == 3
    later = QuestionnaireResponse.where({"patient": str(pid), "_lastUpdated": "gt2150-01-01"})
    assert list(later.perform_resources_iter(c.server)) == []

    db.expire_all()
    events = db.execute(
        select(AuditEvent.action, AuditEvent.resource).where(AuditEvent.channel == "fhir")
    ).all()
    db.commit()
    assert ("read", "fhir.Patient") in events and ("search", "fhir.Observation") in events
    assert ("create", "assessment") in events and ("read", "fhir.Questionnaire") in events


def test_errors_are_operation_outcomes_and_clinic_scoped(db: Session, server: str) -> None:
    pid, foreign, token, other_token = world(db)
    h = {"Authorization": f"Bearer {token}", "Accept": "application/fhir+json"}
    r = requests.get(server + f"Patient/{foreign}", headers=h, timeout=10)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert r.json()["resourceType"] == "OperationOutcome"
    assert r.json()["issue"][0]["code"] == "not-found"
    r = requests.get(server + f"Patient/{pid}", timeout=10)
    assert r.status_code == 401 and r.json()["issue"][0]["code"] == "login"
    r = requests.get(
        server + f"Patient/{pid}", headers={"Authorization": f"Bearer {other_token}"}, timeout=10
    )
    assert r.status_code == 404
    r = requests.get(
        server + "Observation", params={"patient": str(foreign)}, headers=h, timeout=10
    )
    assert r.status_code == 404
    r = requests.get(server + "Observation", params={"date": "soon"}, headers=h, timeout=10)
    assert r.status_code == 422 and r.json()["issue"][0]["expression"] == ["date"]
    bad = phq9_response(pid, [0] * 10)
    bad["status"] = "in-progress"
    r = requests.post(server + "QuestionnaireResponse", json=bad, headers=h, timeout=10)
    assert r.status_code == 422 and "completed" in r.json()["issue"][0]["diagnostics"]
    n = count(db, Assessment)
    r = requests.post(
        server + "QuestionnaireResponse",
        json=phq9_response(foreign, [0] * 10),
        headers=h,
        timeout=10,
    )
    assert r.status_code == 404 and count(db, Assessment) == n
    r = requests.get(server + "Nothing", headers=h, timeout=10)
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
    r = requests.get(server + "metadata", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/fhir+json")
    validate_both(r.json())


# Subjects as in tests/test_access_matrix.py, but every subject sends its bearer token.
FHIR_MATRIX = {
    ("GET", "/fhir/metadata"): "200 200 200 200 200 200",
    ("GET", "/fhir/Patient/{patient_id}"): "401 403 200 200 200 404",
    ("GET", "/fhir/Questionnaire/phq9"): "401 403 200 200 200 200",
    ("GET", "/fhir/Observation?patient={patient_id}"): "401 403 200 200 200 404",
    ("GET", "/fhir/QuestionnaireResponse?patient={patient_id}"): "401 403 200 200 200 404",
    ("POST", "/fhir/QuestionnaireResponse"): "401 403 422 422 422 422",
}


def test_fhir_access_with_bearer_tokens(db: Session, app: FastAPI) -> None:
    from fastapi.testclient import TestClient

    clinic = make_clinic(db)
    other = make_clinic(db, "other", "Other")
    pid = create_patient(db, clinic.id, PatientInput("Pat", "Ient", "1980-01-01")).id
    db.commit()
    tokens = {
        "patient": api_token(db, make_user(db, clinic, Role.patient)),
        "nurse": api_token(db, make_user(db, clinic, Role.nurse)),
        "clinician": api_token(db, make_user(db, clinic, Role.clinician)),
        "admin": api_token(db, make_user(db, clinic, Role.admin)),
        "other": api_token(db, make_user(db, other, Role.admin)),
    }
    failures = []
    with TestClient(app) as http:
        for (method, path), row in FHIR_MATRIX.items():
            for subject, want in zip(("anonymous", *tokens), row.split(), strict=True):
                h = {"Authorization": f"Bearer {tokens[subject]}"} if subject in tokens else {}
                r = http.request(method, path.format(patient_id=pid), headers=h, json={})
                if str(r.status_code) != want:
                    failures.append(f"{method} {path} {subject}: {r.status_code} != {want}")
    assert failures == []


def test_long_identifiers_are_never_truncated_into_one_key(db: Session, client: Any) -> None:
    """Two responses whose identifiers share their first 128+ characters are two records, and
    the second (suicidal ideation, item 9) raises its alert: a long key is hashed (SHA-256),
    never cut. Repeating each identifier still returns the stored record (idempotent)."""
    pid, _foreign, token, _other = world(db)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"}
    system = "urn:oid:" + "1.2.840." * 40
    created = []
    for value, answers in (("a-1", [0] * 10), ("a-2", [1, 1, 1, 1, 1, 1, 1, 1, 2, 1])):
        body = phq9_response(pid, answers) | {"identifier": {"system": system, "value": value}}
        r = client.post("/fhir/QuestionnaireResponse", json=body, headers=headers)
        assert r.status_code == 201, r.text
        created.append(r.json()["id"])
        again = client.post("/fhir/QuestionnaireResponse", json=body, headers=headers)
        assert again.json()["id"] == r.json()["id"]
    assert created[0] != created[1]
    rows = db.execute(select(Assessment).where(Assessment.source == Source.api)).scalars().all()
    assert len(rows) == 2 and all(len(r.idempotency_key or "") <= 128 for r in rows)
    second = max(rows, key=lambda r: r.id)
    rules = db.execute(select(Alert.rule_id).where(Alert.assessment_id == second.id)).scalars()
    assert any("item9" in rule or "suicid" in rule for rule in rules)


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/fhir/Observation", {"patient": "²"}, "patient"),
        ("/fhir/Observation", {"patient": "Patient/١٢"}, "patient"),
        ("/fhir/QuestionnaireResponse", {"patient": "³"}, "patient"),
        ("/fhir/Observation", {"date": "9999-12-31"}, "date"),
        ("/fhir/Observation", {"date": "le9999-12-31T23:59:59Z"}, "date"),
        ("/fhir/Observation", {"date": "0001-01-01T00:00:00+14:00"}, "date"),
        ("/fhir/Observation", {"date": "9999-12"}, "date"),
        ("/fhir/QuestionnaireResponse", {"_lastUpdated": "gt9999"}, "_lastUpdated"),
    ],
)
def test_unicode_digits_and_out_of_range_dates_are_4xx(
    db: Session, client: Any, path: str, params: dict[str, str], field: str
) -> None:
    """Unicode digits and dates outside 1900-2200 in a search are a 4xx OperationOutcome
    naming the parameter, never a 500."""
    _pid, _foreign, token, _other = world(db)
    r = client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    assert 400 <= r.status_code < 500, r.text
    issue = r.json()["issue"][0]
    assert issue["expression"] == [field], issue


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"subject": {"reference": "Patient/²"}}, "subject"),
        ({"authored": "0001-01-01T00:00:00+14:00"}, "authored"),
        ({"authored": "9999-12-31T23:59:59-12:00"}, "authored"),
    ],
)
def test_unicode_digits_and_out_of_range_dates_in_a_body_are_4xx(
    db: Session, client: Any, change: dict[str, Any], field: str
) -> None:
    pid, _foreign, token, _other = world(db)
    body = phq9_response(pid, [0] * 10) | change
    headers = {"Authorization": f"Bearer {token}"}
    r = client.post("/fhir/QuestionnaireResponse", json=body, headers=headers)
    assert 400 <= r.status_code < 500, r.text
    assert r.json()["issue"][0]["expression"] == [field], r.text


def bearer(token: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **extra}


def ids_of(body: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in body["entry"] if e["search"]["mode"] == "match"]


def test_search_by_subject_and_id_never_returns_the_whole_clinic(db: Session, client: Any) -> None:
    """subject= and _id= filter (they were ignored: every patient of the clinic came back)."""
    pid, _foreign, token, _other = world(db)
    clinic_id = db.get(Patient, pid).clinic_id  # type: ignore[union-attr]
    other = create_patient(db, clinic_id, PatientInput("Cy", "Other", "1990-01-01"))
    store_assessment(db, other, "phq2", [1, 1], Source.clinician, Actor(None, "test"))
    db.commit()
    everyone = client.get("/fhir/Observation", headers=bearer(token)).json()
    assert len(ids_of(everyone)) == 3
    for params in ({"subject": f"Patient/{pid}"}, {"subject:Patient": str(pid)}):
        mine = client.get("/fhir/Observation", params=params, headers=bearer(token)).json()
        assert len(ids_of(mine)) == 2, params
        assert {e["resource"]["subject"]["reference"] for e in mine["entry"]} == {f"Patient/{pid}"}
    r = client.get("/fhir/QuestionnaireResponse", params={"subject": str(other.id)},
                   headers=bearer(token))  # fmt: skip
    assert [e["resource"]["subject"] for e in r.json()["entry"]] == [
        {"reference": f"Patient/{other.id}"}
    ]
    first = ids_of(everyone)[0]
    one = client.get("/fhir/Observation", params={"_id": first}, headers=bearer(token)).json()
    assert ids_of(one) == [first] and one["total"] == 1
    none = client.get("/fhir/Observation", params={"_id": "nothing-1"}, headers=bearer(token))
    assert ids_of(none.json()) == []
    qr = ids_of(client.get("/fhir/QuestionnaireResponse", headers=bearer(token)).json())[0]
    got = client.get("/fhir/QuestionnaireResponse", params={"_id": f"{qr},qr-999999"},
                     headers=bearer(token))  # fmt: skip
    assert ids_of(got.json()) == [qr]
    both = {"patient": str(pid), "subject": f"Patient/{other.id}"}  # ANDed: nobody
    assert ids_of(client.get("/fhir/Observation", params=both, headers=bearer(token)).json()) == []
    cap = client.get("/fhir/metadata").json()
    validate_both(cap)
    for res in cap["rest"][0]["resource"]:
        if res["type"] in ("Observation", "QuestionnaireResponse"):
            assert {"subject", "_id"} <= {p["name"] for p in res["searchParam"]}
    assert "handling" in cap["rest"][0]["documentation"]


def test_unknown_search_parameters_follow_prefer_handling(db: Session, client: Any) -> None:
    """Strict (the default): 400 OperationOutcome naming the parameter. Lenient: ignored,
    and the result says so in an OperationOutcome entry (search mode 'outcome')."""
    _pid, _foreign, token, _other = world(db)
    for path in ("/fhir/Observation", "/fhir/QuestionnaireResponse"):
        for headers in (bearer(token), bearer(token, Prefer="handling=strict")):
            r = client.get(path, params={"_include": "Observation:patient"}, headers=headers)
            assert r.status_code == 400, r.text
            issue = r.json()["issue"][0]
            assert r.json()["resourceType"] == "OperationOutcome"
            assert issue["expression"] == ["_include"] and "lenient" in issue["diagnostics"]
        lenient = bearer(token, Prefer="handling=lenient")
        r = client.get(path, params={"_include": "x", "category": "survey"}, headers=lenient)
        assert r.status_code == 200, r.text
        body = r.json()
        validate_both(body)
        [outcome] = [e for e in body["entry"] if e["search"]["mode"] == "outcome"]
        assert [i["expression"] for i in outcome["resource"]["issue"]] == [
            ["_include"],
            ["category"],
        ]
        assert "_include" not in body["link"][0]["url"]


def test_search_pages_with_a_next_link_instead_of_cutting_at_1000(db: Session, client: Any) -> None:
    """1,005 totals: the first page has 1,000 (_count's maximum) and a next link, which
    gives the last 5; small pages give every result exactly once, in order."""
    pid, _foreign, token, _other = world(db)
    patient = db.get(Patient, pid)
    assert patient is not None
    start = datetime(2024, 1, 1, tzinfo=UTC)
    db.add_all(
        Assessment(
            clinic_id=patient.clinic_id,
            patient_id=pid,
            instrument_id="phq2",
            instrument_version="1.0.0",
            answers={"1": 0, "2": 1},
            total=1,
            complete=True,
            completed_at=start + timedelta(hours=i),
            source=Source.clinician,
            flags=[],
        )
        for i in range(1003)
    )
    db.commit()
    r = client.get("/fhir/Observation", params={"_count": "1000"}, headers=bearer(token))
    body = r.json()
    assert len(ids_of(body)) == 1000 and "total" not in body
    [nxt] = [link["url"] for link in body["link"] if link["relation"] == "next"]
    rest = client.get(nxt, headers=bearer(token)).json()
    assert len(ids_of(rest)) == 5 and not [x for x in rest["link"] if x["relation"] == "next"]
    default = client.get("/fhir/Observation", headers=bearer(token)).json()
    assert len(ids_of(default)) == 100
    seen: list[str] = []
    url: str | None = "/fhir/Observation?patient=" + str(pid) + "&_count=97"
    while url:
        page = client.get(url, headers=bearer(token)).json()
        seen += ids_of(page)
        url = next((x["url"] for x in page["link"] if x["relation"] == "next"), None)
    assert seen == ids_of(body) + ids_of(rest)
    for bad in ({"_count": "0"}, {"_count": "1001"}, {"_offset": "-1"}):
        r = client.get("/fhir/Observation", params=bad, headers=bearer(token))
        assert r.status_code == 422 and r.json()["resourceType"] == "OperationOutcome", bad


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ('{"linkId": "1", "answer": [{"valueInteger": Infinity}]}', "non-finite"),
        ('{"linkId": "1", "answer": [{"valueInteger": "abc"}]}', "whole number"),
        ('{"linkId": "1", "answer": 5}', "must be a list"),
        ('{"linkId": "1", "answer": [{"valueCoding": "x"}]}', "Coding"),
        ('{"linkId": "total", "answer": [{"valueDecimal": NaN}]}', "non-finite"),
    ],
)
def test_malformed_answers_are_422_never_500(
    db: Session, client: Any, text: str, reason: str
) -> None:
    pid, _foreign, token, _other = world(db)
    body = json.dumps({**phq9_response(pid, [0] * 10), "item": ["ITEM"]}).replace('"ITEM"', text)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    r = client.post("/fhir/QuestionnaireResponse", content=body.encode(), headers=headers)
    assert r.status_code == 422, r.text
    assert reason in r.json()["issue"][0]["diagnostics"]
