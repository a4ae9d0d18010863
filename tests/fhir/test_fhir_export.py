"""FHIR export: golden JSON of a sample patient, strict R4 and R4B parsing, DB and CLI export."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.instruments import get_instrument, instrument_ids
from ketacare.features.assessments.models import Source
from ketacare.features.assessments.service import store_assessment
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.actor import Actor
from ketacare.features.interop.exporter import export_bundle
from ketacare.features.interop.models import Diagnosis
from ketacare.features.patients.service import PatientInput, create_patient
from ketacare.features.sessions.schemas import TERMS, Outcome, Severity, Timepoint
from ketacare.features.sessions.schemas import Instrument as ScaleInstrument
from ketacare.fhir import to_questionnaire
from ketacare.fhir.codes import ADVERSE_EVENT_TERMS, AE_OUTCOMES, SESSION_TIMEPOINTS, SEVERITIES
from ketacare.fhir.export import (
    assessment_resources,
    collection_bundle,
    condition_resource,
    patient_resource,
)
from ketacare.fhir.medication import (
    adverse_event,
    medication_administration,
    scale_observation,
    vital_observations,
)
from tests.conftest import make_clinic
from tests.fhir.fhir_support import (
    GOLDEN,
    T0,
    UPDATE_GOLDEN,
    cli_env,
    run,
    sample_adverse_events,
    sample_assessments,
    sample_diagnosis,
    sample_patient,
    sample_scales,
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
    resources += [scale_observation(x) for x in sample_scales()]
    resources += [adverse_event(e) for e in sample_adverse_events()]
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
    assert {
        c["code"] for k, r in res.items() if k.startswith("vs-31") for c in r["code"]["coding"]
    } == {
        "85354-9",
        "8867-4",
        "2708-6",
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


def test_session_scales_map_to_ketacare_totals_with_timepoint() -> None:
    res = by_id(sample_bundle())
    cadss6, moaas, cadss23 = res["scale-43"], res["scale-44"], res["scale-45"]
    for obs, code, display in (
        (cadss6, "cadss6", "CADSS-6 total score"),
        (moaas, "moaas", "MOAA/S total score"),
        (cadss23, "cadss23", "CADSS total score"),
    ):
        # no LOINC code is verified for CADSS or MOAA/S (clinical reference §9): ketacare's
        # instrument-total system, the instrument id as code
        assert obs["code"]["coding"] == [
            {
                "system": "https://ketacare.org/fhir/CodeSystem/instrument-total",
                "code": code,
                "display": display,
            }
        ]
        assert obs["category"][0]["coding"][0]["code"] == "survey"
        assert obs["subject"] == {"reference": "Patient/7"}
    assert cadss6["valueQuantity"] == {
        "value": 7,
        "unit": "{score}",
        "system": "http://unitsofmeasure.org",
        "code": "{score}",
    }
    assert cadss6["effectiveDateTime"] == "2025-03-06T09:40:00Z"
    assert cadss6["partOf"] == [{"reference": "MedicationAdministration/dose-22"}]
    assert cadss23["partOf"] == [{"reference": "MedicationAdministration/dose-21"}]
    [timepoint] = res["scale-41"]["component"]
    assert timepoint["code"]["coding"][0]["code"] == "timepoint"
    assert timepoint["valueCodeableConcept"]["coding"][0] == {
        "system": "https://ketacare.org/fhir/CodeSystem/session-timepoint",
        "code": "pre_dose",
        "display": "Pre-dose",
    }
    assert moaas["valueQuantity"]["value"] == 4


def test_scale_observations_carry_no_items() -> None:
    """CADSS item text must never ship: a scale Observation holds the total only."""
    scales = [r for k, r in by_id(sample_bundle()).items() if k.startswith("scale-")]
    assert len(scales) == 5
    for obs in scales:
        assert set(obs) == {
            "resourceType",
            "id",
            "identifier",
            "status",
            "category",
            "code",
            "subject",
            "effectiveDateTime",
            "partOf",
            "valueQuantity",
            "component",
        }
        assert len(obs["component"]) == 1  # the timepoint, no item answers
    text = json.dumps(scales)
    for iid in ("cadss6", "cadss23"):
        for item in get_instrument(iid).items:
            assert item.label not in text and (item.text or item.label) not in text


def test_scale_without_dose_has_no_part_of() -> None:
    obs = scale_observation(replace(sample_scales()[0], dosed=False))
    assert "partOf" not in obs
    validate_both(obs)


def test_adverse_events_coded_with_seriousness_severity_and_suspect() -> None:
    res = by_id(sample_bundle())
    anxiety, nausea, other = res["ae-51"], res["ae-52"], res["ae-53"]
    assert nausea["actuality"] == "actual"
    assert nausea["identifier"] == {
        "system": "https://ketacare.org/fhir/sid/adverse-event",
        "value": "52",
    }
    assert nausea["event"] == {
        "coding": [
            {
                "system": "https://ketacare.org/fhir/CodeSystem/adverse-event-term",
                "code": "nausea",
                "display": "Nausea",
            }
        ],
        "text": "Nausea",
    }
    assert nausea["subject"] == {"reference": "Patient/7"}
    assert nausea["date"] == "2025-03-06T09:35:00Z"
    assert nausea["recordedDate"] == "2025-03-06T09:41:00Z"
    seriousness = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
    assert nausea["seriousness"]["coding"] == [
        {"system": seriousness, "code": "non-serious", "display": "Non-serious"}
    ]
    assert other["seriousness"]["coding"] == [
        {"system": seriousness, "code": "serious", "display": "Serious"}
    ]
    assert nausea["severity"]["coding"][0] == {
        "system": "http://terminology.hl7.org/CodeSystem/adverse-event-severity",
        "code": "moderate",
        "display": "Moderate",
    }
    assert nausea["outcome"]["coding"][0]["code"] == "recovering"  # ketacare "resolving"
    assert nausea["suspectEntity"] == [
        {"instance": {"reference": "MedicationAdministration/dose-22"}}
    ]
    assert "suspectEntity" not in anxiety  # began before the dose
    assert other["event"]["coding"][0]["code"] == "other"
    assert other["event"]["text"] == "Vasovagal syncope"
    assert "outcome" not in other  # "transferred" has no R4 outcome code


def test_adverse_event_without_dose_has_no_suspect() -> None:
    event = adverse_event(replace(sample_adverse_events()[1], dose_start=None))
    assert "suspectEntity" not in event
    validate_both(event)


def test_code_tables_cover_every_stored_value() -> None:
    assert set(ADVERSE_EVENT_TERMS) == set(TERMS)
    assert set(SESSION_TIMEPOINTS) == set(get_args(Timepoint))
    assert set(AE_OUTCOMES) | {"transferred"} == set(get_args(Outcome))
    assert set(SEVERITIES) == set(get_args(Severity))
    for iid in get_args(ScaleInstrument):
        assert get_instrument(iid).loinc_total is None  # else the LOINC total would be used


def test_spo2_carries_both_oxygensat_codes() -> None:
    """The R4 oxygensat profile requires LOINC 2708-6; 59408-5 (pulse oximetry) is kept as the
    more specific coding (R4 example observation-example-satO2 carries both)."""
    res = by_id(sample_bundle())
    spo2 = res["vs-31-spo2"]
    codes = [(c["system"], c["code"]) for c in spo2["code"]["coding"]]
    assert codes == [("http://loinc.org", "2708-6"), ("http://loinc.org", "59408-5")]
    assert spo2["valueQuantity"]["code"] == "%"
