"""FHIR export: golden JSON of a sample patient, strict R4 and R4B parsing, DB and CLI export."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.instruments import instrument_ids
from ketacare.features.assessments.models import Source
from ketacare.features.assessments.service import Actor, store_assessment
from ketacare.features.audit.models import AuditEvent
from ketacare.features.interop.exporter import export_bundle
from ketacare.features.interop.models import Diagnosis
from ketacare.features.patients.service import PatientInput, create_patient
from ketacare.fhir import to_questionnaire
from ketacare.fhir.export import (
    assessment_resources,
    collection_bundle,
    condition_resource,
    patient_resource,
)
from ketacare.fhir.medication import medication_administration, vital_observations
from tests.conftest import make_clinic
from tests.fhir.fhir_support import (
    GOLDEN,
    T0,
    UPDATE_GOLDEN,
    cli_env,
    run,
    sample_assessments,
    sample_diagnosis,
    sample_patient,
    sample_sessions,
    validate_both,
)

BASE = "https://clinic.example/fhir"


def sample_bundle() -> dict[str, Any]:
    resources: list[dict[str, Any]] = [patient_resource(sample_patient())]
    resources += [to_questionnaire("phq9"), to_questionnaire("madrs")]
    resources.append(condition_resource(sample_diagnosis()))
    for a in sample_assessments():
        resources += assessment_resources(a)
    doses, vitals = sample_sessions()
    for d in doses:
        admin = medication_administration(d)
        assert admin is not None
        resources.append(admin)
    for v in vitals:
        resources += vital_observations(v)
    return collection_bundle(BASE, resources, T0, "ketacare-export-patient-7")


def test_sample_patient_matches_golden_file() -> None:
    path = GOLDEN / "sample_patient.json"
    text = json.dumps(sample_bundle(), indent=2, ensure_ascii=False) + "\n"
    if UPDATE_GOLDEN:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), "set KETACARE_UPDATE_GOLDEN=1 to regenerate"


def test_golden_bundle_parses_strict_r4_and_r4b() -> None:
    validate_both(json.loads((GOLDEN / "sample_patient.json").read_text(encoding="utf-8")))


def test_every_questionnaire_parses_strict() -> None:
    for iid in instrument_ids():
        validate_both(to_questionnaire(iid))


def by_id(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["resource"]["id"]: e["resource"] for e in bundle["entry"]}


def test_score_observation_codes_band_and_derived_from() -> None:
    res = by_id(sample_bundle())
    phq9 = res["score-11"]
    assert phq9["code"]["coding"][0] == {
        "system": "http://loinc.org",
        "code": "44261-6",
        "display": "PHQ-9 total score",
    }
    assert phq9["valueQuantity"]["value"] == 11
    assert phq9["interpretation"][0]["coding"][0]["code"] == "moderate"
    assert phq9["derivedFrom"] == [{"reference": "QuestionnaireResponse/qr-11"}]
    madrs = res["score-12"]["code"]["coding"][0]
    assert madrs["system"] == "https://ketacare.org/fhir/CodeSystem/instrument-total"
    assert madrs["code"] == "madrs"
    gad7 = res["score-13"]
    assert gad7["code"]["coding"][0]["code"] == "70274-6"
    assert "derivedFrom" not in gad7 and "qr-13" not in res  # imported total: no items
    qr = res["qr-11"]
    item1 = qr["item"][0]["answer"][0]["valueCoding"]
    assert item1 == {
        "system": "http://loinc.org",
        "code": "LA6570-1",
        "display": "More than half the days",
    }
    assert qr["item"][-1] == {
        "linkId": "total",
        "text": "PHQ-9 total score",
        "answer": [{"valueDecimal": 11}],
    }


def test_sessions_map_to_rxnorm_and_vital_sign_codes() -> None:
    res = by_id(sample_bundle())
    iv, nasal = res["dose-21"], res["dose-22"]
    assert iv["medicationCodeableConcept"]["coding"][0]["code"] == "6130"
    assert nasal["medicationCodeableConcept"]["coding"][0]["code"] == "2201623"
    assert iv["dosage"]["dose"] == {
        "value": 35.0,
        "unit": "mg",
        "system": "http://unitsofmeasure.org",
        "code": "mg",
    }
    assert iv["dosage"]["route"]["coding"][0]["code"] == "47625008"
    assert nasal["dosage"]["route"]["coding"][0]["code"] == "46713006"
    bp = res["vs-31-bp"]
    assert bp["code"]["coding"][0]["code"] == "85354-9"
    assert [c["code"]["coding"][0]["code"] for c in bp["component"]] == ["8480-6", "8462-4"]
    assert {r["code"]["coding"][0]["code"] for k, r in res.items() if k.startswith("vs-31")} == {
        "85354-9",
        "8867-4",
        "59408-5",
        "9279-1",
    }
    assert [c["code"]["coding"][0]["code"] for c in res["vs-32-bp"]["component"]] == ["8480-6"]


def test_condition_carries_snomed_and_icd10() -> None:
    cond = by_id(sample_bundle())["dx-3"]
    assert [(c["system"], c["code"]) for c in cond["code"]["coding"]] == [
        ("http://snomed.info/sct", "370143000"),
        ("http://hl7.org/fhir/sid/icd-10-cm", "F33.2"),
    ]


def stored_patient(db: Session) -> tuple[int, int]:
    clinic = make_clinic(db)
    patient = create_patient(db, clinic.id, PatientInput("Ada", "Sample", "1980-05-17", "female"))
    store_assessment(
        db,
        patient,
        "phq9",
        [2, 2, 1, 1, 2, 1, 1, 0, 1, 1],
        Source.clinician,
        Actor(None, "test"),
        completed_at=datetime(2025, 3, 4, 9, 30, tzinfo=UTC),
    )
    db.add(
        Diagnosis(
            clinic_id=clinic.id,
            patient_id=patient.id,
            text="MDD",
            snomed_code="370143000",
            icd10_code="F33.2",
        )
    )
    db.commit()
    return clinic.id, patient.id


def test_stored_patient_exports_valid_bundle(db: Session) -> None:
    clinic_id, pid = stored_patient(db)
    bundle, ids = export_bundle(db, clinic_id, BASE, pid)
    db.commit()
    assert ids == [pid]
    validate_both(bundle)
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == [
        "Patient",
        "Questionnaire",
        "Condition",
        "QuestionnaireResponse",
        "Observation",
    ]
    obs = bundle["entry"][-1]["resource"]
    assert obs["valueQuantity"]["value"] == 11
    assert obs["effectiveDateTime"] == "2025-03-04T09:30:00Z"


def test_cli_exports_patient_to_file_and_audits(
    db: Session, database_url: str, tmp_path: Path
) -> None:
    _, pid = stored_patient(db)
    out = tmp_path / "export.json"
    r = run(
        cli_env(database_url, tmp_path), "fhir", "export", "--patient", str(pid), "--out", str(out)
    )
    assert r.returncode == 0, r.stderr
    bundle = json.loads(out.read_text(encoding="utf-8"))
    validate_both(bundle)
    assert bundle["entry"][0]["fullUrl"] == f"https://clinic.example/fhir/Patient/{pid}"
    db.expire_all()
    events = db.execute(
        select(AuditEvent.action, AuditEvent.channel, AuditEvent.patient_id).where(
            AuditEvent.resource == "fhir.Bundle"
        )
    ).all()
    db.commit()
    assert events == [("export", "cli", pid)]
    r = run(cli_env(database_url, tmp_path), "fhir", "export")
    assert r.returncode == 2 and "exactly one of" in r.stderr


@pytest.mark.parametrize("args", [["--patient", "999999"], ["--clinic", "999999"]])
def test_cli_export_unknown_ids_exit_2(database_url: str, tmp_path: Path, args: list[str]) -> None:
    r = run(cli_env(database_url, tmp_path), "fhir", "export", *args)
    assert r.returncode == 2 and "no " in r.stderr
