"""ketacare re-imports its own export: one assessment per exported assessment (the response
and its score Observation share an identifier), MADRS (no LOINC panel) matched through
ketacare's own Questionnaire, the golden bundle, and never a server error; SQLite and
PostgreSQL."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ketacare.db.engine import unit_of_work
from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import get_instrument, instrument_ids
from ketacare.features.assessments.models import Assessment, Source
from ketacare.features.auth.actor import Actor
from ketacare.features.interop import importer
from ketacare.features.interop.exporter import export_bundle
from ketacare.features.interop.importer import import_bundle
from ketacare.features.interop.models import Diagnosis, ExternalRef
from ketacare.features.patients.models import Patient
from ketacare.fhir import answers_from_response, match_questionnaire, to_questionnaire
from ketacare.fhir.export import AssessmentRecord, questionnaire_response
from ketacare.fhir.questionnaire import answer_system
from ketacare.fhir.reader import SCORE_OF_RESPONSE, BundleError, read_bundle
from tests.conftest import make_clinic
from tests.fhir.fhir_support import GOLDEN, T0, cli_env, run
from tests.fhir.test_fhir_session_export import BASE, chart, post
from tests.sessions.support import setup

pytestmark = pytest.mark.timeout(300)

PHQ9 = {"1": 2, "2": 1, "3": 1, "4": 2, "5": 0, "6": 1, "7": 1, "8": 0, "9": 0, "10": 1}
MADRS = {str(i): v for i, v in enumerate([3, 2, 4, 1, 0, 2, 5, 1, 3, 0], start=1)}
REPEATED_OBSERVATION = "Observation: identifier repeated in this bundle (the first entry is kept)"


def assessments(db: Session, clinic_id: int) -> list[Assessment]:
    rows = list(
        db.execute(
            select(Assessment)
            .join(Patient, Patient.id == Assessment.patient_id)
            .where(Patient.clinic_id == clinic_id)
            .order_by(Assessment.instrument_id)
        ).scalars()
    )
    db.commit()
    return rows


def refs(db: Session, clinic_id: int) -> int:
    n = db.execute(
        select(func.count()).select_from(ExternalRef).where(ExternalRef.clinic_id == clinic_id)
    ).scalar_one()
    db.commit()
    return int(n)


def test_own_export_reimports_into_another_clinic(
    client: TestClient, app: FastAPI, db: Session, engine: Engine
) -> None:
    """PHQ-9 with items, MADRS by a rater and a charted session: exported, imported into
    another clinic once (no duplicates, MADRS answers by item id, same totals), then again
    (nothing added)."""
    w = setup(db)
    chart(client, app, w)
    url = f"/api/v1/patients/{w['patient_id']}/assessments"
    post(client, url, {"instrument": "phq9", "answers": PHQ9}, w["clinician"])
    rater = {"instrument": "madrs", "answers": MADRS, "source": "clinician"}
    post(client, url, rater, w["clinician"])
    other = make_clinic(db, "other", "Other").id
    db.commit()
    bundle, _ = export_bundle(db, w["clinic_id"], BASE, w["patient_id"])
    db.commit()
    source = assessments(db, w["clinic_id"])
    assert [(a.instrument_id, a.source) for a in source] == [
        ("madrs", Source.clinician),
        ("phq9", Source.api),
    ]

    with unit_of_work(engine) as s:
        report = import_bundle(s, other, copy.deepcopy(bundle), "export.json", Actor(None, "cli"))
    assert (report.patients_created, report.responses, report.totals) == (1, 2, 0)
    assert report.already_imported == 0
    assert report.skipped[SCORE_OF_RESPONSE] == 1  # the PHQ-9 score (LOINC total code)
    imported = assessments(db, other)
    assert len(imported) == len(source) == 2
    for new, old in zip(imported, source, strict=True):
        assert new.instrument_id == old.instrument_id
        assert new.source == Source.imported
        assert new.answers == old.answers
        assert new.total == old.total
        assert new.completed_at == old.completed_at.replace(microsecond=0)  # FHIR: seconds
    madrs = imported[0]
    assert madrs.answers == MADRS and madrs.total == sum(MADRS.values())
    assert refs(db, other) == 3  # the patient and two assessments

    with unit_of_work(engine) as s:
        again = import_bundle(s, other, copy.deepcopy(bundle), "export.json", Actor(None, "cli"))
    assert again.added == 0
    assert (again.patients_matched, again.already_imported) == (1, 2)
    assert len(assessments(db, other)) == 2 and refs(db, other) == 3


def test_golden_bundle_imports_into_a_fresh_clinic(
    db: Session, database_url: str, tmp_path: Path
) -> None:
    """The golden export through the CLI: patient, PHQ-9 and MADRS responses with their
    answers, the GAD-7 total, the diagnosis; a second run adds nothing."""
    cid = make_clinic(db, "fresh", "Fresh").id
    db.commit()
    env = cli_env(database_url, tmp_path)
    golden = str(GOLDEN / "sample_patient.json")
    r = run(env, "fhir", "import", "--clinic", str(cid), "--no-progress", golden)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "imported: 5 record(s) from 1 bundle(s)" in r.stdout
    assert f"skipped 1: {SCORE_OF_RESPONSE}" in r.stdout
    rows = {a.instrument_id: a for a in assessments(db, cid)}
    assert sorted(rows) == ["gad7", "madrs", "phq9"]
    assert rows["phq9"].total == 11 and rows["phq9"].answers["9"] == 1
    assert rows["madrs"].answers == {str(i): 2 for i in range(1, 11)}
    assert rows["madrs"].total == 20
    assert rows["gad7"].answers == {} and rows["gad7"].total == 12
    assert db.execute(select(func.count()).select_from(Diagnosis)).scalar_one() == 1
    db.commit()
    r = run(env, "fhir", "import", "--clinic", str(cid), "--no-progress", golden)
    assert r.returncode == 0 and "imported: 0 record(s) from 1 bundle(s)" in r.stdout
    assert len(assessments(db, cid)) == 3 and refs(db, cid) == 5


def shared_identifier_bundle(pid: int) -> dict[str, Any]:
    """A MADRS response and a PHQ-9 score Observation that carry the same identifier."""
    record = AssessmentRecord(
        id=901,
        patient_id=pid,
        instrument_id="madrs",
        instrument_version=get_instrument("madrs").version,
        answers=MADRS,
        total=sum(MADRS.values()),
        band=None,
        completed_at=T0,
        recorded_at=T0,
    )
    qr = questionnaire_response(record)
    obs = {
        "resourceType": "Observation",
        "id": "score-901",
        "identifier": [qr["identifier"]],
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "44261-6"}]},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": "2025-03-04T09:30:00Z",
        "valueQuantity": {"value": 9},
    }
    patient = {
        "resourceType": "Patient",
        "id": str(pid),
        "identifier": [{"system": "https://example.org/sid/patient", "value": f"p{pid}"}],
        "name": [{"family": "Sample", "given": ["Ada"]}],
    }
    return {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": f"{BASE}/{r['resourceType']}/{r['id']}", "resource": r}
            for r in (patient, obs, qr)
        ],
    }


def test_shared_identifier_never_a_server_error(
    client: TestClient, db: Session, engine: Engine
) -> None:
    """A response and an Observation sharing an identifier: the import keeps the response
    (whatever the order), the same bundle again adds nothing. There is no FHIR API route that
    imports a Bundle: posted to ``/fhir/QuestionnaireResponse`` it is a clean 4xx, and the
    response itself (MADRS: no LOINC panel) is stored through that route."""
    w = setup(db)
    bundle = shared_identifier_bundle(w["patient_id"])
    parsed = read_bundle(bundle)
    assert parsed.totals == [] and len(parsed.responses) == 1
    assert parsed.skipped == {SCORE_OF_RESPONSE: 1}
    other = make_clinic(db, "other", "Other").id
    db.commit()
    with unit_of_work(engine) as s:
        report = import_bundle(s, other, bundle, "shared.json", Actor(None, "cli"))
    assert (report.patients_created, report.responses, report.totals) == (1, 1, 0)
    with unit_of_work(engine) as s:
        assert import_bundle(s, other, bundle, "shared.json", Actor(None, "cli")).added == 0
    [row] = assessments(db, other)
    assert row.instrument_id == "madrs" and row.answers == MADRS

    r = client.post("/fhir/QuestionnaireResponse", json=bundle, headers=w["clinician"])
    assert 400 <= r.status_code < 500, r.text
    qr = bundle["entry"][2]["resource"]
    r = client.post("/fhir/QuestionnaireResponse", json=qr, headers=w["clinician"])
    assert r.status_code == 201, r.text
    assert r.json()["questionnaire"].startswith("https://ketacare.org/fhir/Questionnaire/madrs")
    [stored] = assessments(db, w["clinic_id"])
    assert stored.answers == MADRS and stored.total == sum(MADRS.values())


def test_repeated_identifiers_keep_the_first_entry() -> None:
    """Two Observations with one identifier: the first is kept; a repeated Patient lends its
    references to the first, so a response pointing at either imports."""
    bundle = shared_identifier_bundle(7)
    patient, obs, qr = (e["resource"] for e in bundle["entry"])
    later = copy.deepcopy(obs) | {"id": "score-902", "valueQuantity": {"value": 12}}
    twin = copy.deepcopy(patient) | {"id": "twin"}
    qr = copy.deepcopy(qr) | {"identifier": {"system": "urn:x", "value": "qr"}}
    qr["subject"] = {"reference": "Patient/twin"}
    entries = [(patient, "Patient/7"), (obs, "o1"), (later, "o2"), (twin, "t"), (qr, "q")]
    bundle["entry"] = [{"fullUrl": f"urn:uuid:{u}", "resource": r} for r, u in entries]
    parsed = read_bundle(bundle)
    assert [t.total for t in parsed.totals] == [9]
    assert parsed.totals[0].index == 1
    [kept] = parsed.patients
    assert "Patient/twin" in kept.aliases and kept.index == 0
    assert len(parsed.responses) == 1
    assert parsed.skipped == {
        REPEATED_OBSERVATION: 1,
        "Patient: identifier repeated in this bundle (the first entry is kept)": 1,
    }
    orphan = copy.deepcopy(bundle)
    orphan["entry"][2]["resource"]["subject"] = {"reference": "Patient/nobody"}
    orphan["entry"][1]["resource"]["identifier"] = [{"system": "urn:x", "value": "o1"}]
    with pytest.raises(BundleError) as err:
        read_bundle(orphan)
    assert err.value.index == 2 and err.value.full_url == "urn:uuid:o2"


def test_own_madrs_questionnaire_maps_every_item() -> None:
    """Pure: ketacare's MADRS Questionnaire (no LOINC) maps every item by linkId and every
    answer by ketacare's codes; its response scores back to the same answers."""
    inst = get_instrument("madrs")
    assert inst.loinc_panel is None
    match = match_questionnaire(to_questionnaire("madrs"))
    assert match.instrument_id == "madrs"
    assert dict(match.item_map) == {it.id: it.id for it in inst.items}
    assert match.total_link_id == "total" and match.warnings == ()
    system = answer_system(inst)
    for it in inst.items:
        assert dict(match.answer_map[it.id]) == {
            (system, str(o.value)): o.value for o in it.options
        }
    record = AssessmentRecord(
        id=1,
        patient_id=1,
        instrument_id="madrs",
        instrument_version=inst.version,
        answers=MADRS,
        total=sum(MADRS.values()),
        band=None,
        completed_at=T0,
        recorded_at=T0,
    )
    answers, supplied = answers_from_response(match, questionnaire_response(record))
    assert answers == MADRS and supplied == sum(MADRS.values())


@pytest.mark.parametrize("iid", instrument_ids())
def test_every_own_questionnaire_matches_its_instrument(iid: str) -> None:
    """Pure: each built-in Questionnaire matches its own instrument with every item."""
    match = match_questionnaire(to_questionnaire(iid))
    assert match.instrument_id == iid
    assert sorted(match.item_map.values()) == sorted(it.id for it in get_instrument(iid).items)


def test_foreign_url_is_not_taken_for_ketacare() -> None:
    """Only ketacare's canonical url of a built-in instrument is recognised."""
    q = to_questionnaire("madrs") | {"url": "https://ketacare.org/fhir/Questionnaire/unknown"}
    with pytest.raises(InvalidAnswer, match="LOINC panel"):
        match_questionnaire(q)
    q = to_questionnaire("madrs") | {"url": "https://example.org/Questionnaire/madrs"}
    with pytest.raises(InvalidAnswer, match="LOINC panel"):
        match_questionnaire(q)


def test_identifier_stored_meanwhile_is_a_bundle_error(
    db: Session, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A concurrent import that stored the same identifiers first (simulated: the lookup of
    known identifiers misses them once): the unique key's IntegrityError is rolled back to a
    savepoint and reported as a BundleError naming the entry; nothing is added."""
    cid = make_clinic(db).id
    db.commit()
    bundle = shared_identifier_bundle(7)
    with unit_of_work(engine) as s:
        import_bundle(s, cid, bundle, "first.json", Actor(None, "cli"))
    before = (len(assessments(db, cid)), refs(db, cid))
    real = importer._existing
    calls: list[int] = []

    def racing(s: Session, clinic_id: int, keys: list[Any]) -> Any:
        calls.append(1)
        return {} if len(calls) == 1 else real(s, clinic_id, keys)

    monkeypatch.setattr(importer, "_existing", racing)
    with pytest.raises(BundleError) as err, unit_of_work(engine) as s:
        import_bundle(s, cid, bundle, "second.json", Actor(None, "cli"))
    assert err.value.index == 0 and err.value.full_url == f"{BASE}/Patient/7"
    assert "was stored while this bundle was imported" in str(err.value)
    assert (len(assessments(db, cid)), refs(db, cid)) == before
    assert db.execute(select(func.count()).select_from(Patient)).scalar_one() == 1
    db.commit()


def test_patient_identifier_imported_as_another_record(db: Session, engine: Engine) -> None:
    """A Patient whose identifier an earlier bundle gave to an assessment is refused by name
    (never matched to the wrong row, never a unique-key violation)."""
    cid = make_clinic(db).id
    db.commit()
    bundle = shared_identifier_bundle(7)
    with unit_of_work(engine) as s:
        import_bundle(s, cid, bundle, "first.json", Actor(None, "cli"))
    clash = copy.deepcopy(bundle)
    patient = clash["entry"][0]["resource"]
    patient["identifier"] = [bundle["entry"][2]["resource"]["identifier"]]
    with pytest.raises(BundleError) as err, unit_of_work(engine) as s:
        import_bundle(s, cid, clash, "clash.json", Actor(None, "cli"))
    assert err.value.index == 0 and "was imported before as another record" in str(err.value)


@pytest.mark.parametrize("where", ["system", "value"])
def test_identifier_too_long_for_the_database_is_a_bundle_error(where: str) -> None:
    """Pure: an identifier ``fhir_external_ref`` cannot store is refused by entry."""
    bundle = shared_identifier_bundle(7)
    bundle["entry"][1]["resource"]["identifier"][0][where] = "x" * 256
    with pytest.raises(BundleError, match="longer than 255 characters") as err:
        read_bundle(bundle)
    assert err.value.index == 1


def test_condition_code_too_long_is_a_bundle_error() -> None:
    """Pure: an ICD-10-CM code longer than the column is refused by entry."""
    bundle = shared_identifier_bundle(7)
    bundle["entry"].append(
        {
            "fullUrl": "urn:uuid:dx",
            "resource": {
                "resourceType": "Condition",
                "code": {
                    "coding": [
                        {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F32" + "9" * 20}
                    ]
                },
                "subject": {"reference": "Patient/7"},
            },
        }
    )
    with pytest.raises(BundleError, match="ICD-10-CM code is longer than 16") as err:
        read_bundle(bundle)
    assert err.value.index == 3
