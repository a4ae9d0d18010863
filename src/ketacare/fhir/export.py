"""Map ketacare records (plain dataclasses) to FHIR R4 (4.0.1) resources as JSON-ready dicts.

Patient, QuestionnaireResponse (items coded with LOINC answers where they exist), an
Observation per total score (LOINC total code, or ketacare's instrument-total code system when
LOINC has none; the band as ``interpretation``; ``derivedFrom`` the response) and Condition.
Ids are derived from ketacare's row ids, so the same records always give the same JSON.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from ketacare.domain.instruments import Instrument, get_instrument
from ketacare.fhir.codes import (
    ASSESSMENT_ID_SYSTEM,
    CONDITION_CATEGORY,
    CONDITION_CLINICAL,
    CONDITION_VERIFICATION,
    ICD10CM,
    INSTRUMENT_TOTAL_SYSTEM,
    LOINC,
    OBS_CATEGORY,
    PATIENT_ID_SYSTEM,
    SNOMED,
    UCUM,
)
from ketacare.fhir.questionnaire import BASE_URL, TOTAL_LINK_ID, _coding

GENDER = {"female": "female", "male": "male", "other": "other", "unknown": "unknown"}


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """The patient fields that leave ketacare."""

    id: int
    given_name: str
    family_name: str
    birth_date: date | None = None
    sex: str = "unknown"
    mrn: str | None = None
    identifiers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class AssessmentRecord:
    """A stored assessment; ``imported_total`` marks a total imported without items."""

    id: int
    patient_id: int
    instrument_id: str
    instrument_version: str
    answers: Mapping[str, int | None]
    total: int | None
    band: str | None
    completed_at: datetime
    recorded_at: datetime
    imported_total: bool = False
    flags: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class DiagnosisRecord:
    """A diagnosis as recorded: SNOMED CT and/or ICD-10-CM."""

    id: int
    patient_id: int
    text: str
    snomed_code: str | None = None
    snomed_display: str | None = None
    icd10_code: str | None = None
    icd10_display: str | None = None
    clinical_status: str = "active"
    onset: date | None = None
    recorded_at: datetime | None = None


def instant(value: datetime) -> str:
    """An R4 ``instant``/``dateTime`` in UTC with seconds (``2024-01-02T03:04:05Z``)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime")
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def ref(resource_type: str, rid: str) -> dict[str, str]:
    """A relative reference."""
    return {"reference": f"{resource_type}/{rid}"}


def patient_ref(patient_id: int) -> dict[str, str]:
    """Reference to ketacare's Patient resource."""
    return ref("Patient", str(patient_id))


def patient_resource(p: PatientRecord) -> dict[str, Any]:
    """R4 Patient (ketacare id as identifier; MRN as an ``MR`` identifier)."""
    identifiers: list[dict[str, Any]] = [{"system": PATIENT_ID_SYSTEM, "value": str(p.id)}]
    if p.mrn:
        identifiers.append(
            {
                "type": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/v2-0203",
                            "code": "MR",
                            "display": "Medical Record Number",
                        }
                    ]
                },
                "system": f"{BASE_URL}/sid/mrn",
                "value": p.mrn,
            }
        )
    identifiers += [{"system": s, "value": v} for s, v in p.identifiers]
    out: dict[str, Any] = {
        "resourceType": "Patient",
        "id": str(p.id),
        "identifier": identifiers,
        "name": [{"use": "official", "family": p.family_name, "given": [p.given_name]}],
        "gender": GENDER.get(p.sex, "unknown"),
    }
    if p.birth_date is not None:
        out["birthDate"] = p.birth_date.isoformat()
    return out


def response_id(assessment_id: int) -> str:
    """Resource id of an assessment's QuestionnaireResponse."""
    return f"qr-{assessment_id}"


def score_id(assessment_id: int) -> str:
    """Resource id of an assessment's total-score Observation."""
    return f"score-{assessment_id}"


def questionnaire_response(a: AssessmentRecord) -> dict[str, Any]:
    """R4 QuestionnaireResponse with coded answers and the total ketacare computed."""
    inst = get_instrument(a.instrument_id)
    items: list[dict[str, Any]] = []
    for item in inst.items:
        value = a.answers.get(item.id)
        if value is None:
            continue
        items.append(
            {
                "linkId": item.id,
                "text": item.text or f"{inst.short_name} item {item.id}: {item.label}",
                "answer": [{"valueCoding": _coding(inst, item, value)}],
            }
        )
    if a.total is not None:
        items.append(
            {
                "linkId": TOTAL_LINK_ID,
                "text": f"{inst.short_name} total score",
                "answer": [{"valueDecimal": a.total}],
            }
        )
    return {
        "resourceType": "QuestionnaireResponse",
        "id": response_id(a.id),
        "meta": {"lastUpdated": instant(a.recorded_at)},
        "identifier": {"system": ASSESSMENT_ID_SYSTEM, "value": str(a.id)},
        "questionnaire": f"{BASE_URL}/Questionnaire/{inst.id}|{a.instrument_version}",
        "status": "completed",
        "subject": patient_ref(a.patient_id),
        "authored": instant(a.completed_at),
        "item": items,
    }


def total_code(inst: Instrument) -> dict[str, Any]:
    """The Observation code of an instrument's total (LOINC, else ketacare's system)."""
    display = f"{inst.short_name} total score"
    if inst.loinc_total:
        coding = {"system": LOINC, "code": inst.loinc_total, "display": display}
    else:
        coding = {"system": INSTRUMENT_TOTAL_SYSTEM, "code": inst.id, "display": display}
    return {"coding": [coding], "text": display}


def band_system(inst: Instrument) -> str:
    """Code system of an instrument's severity bands."""
    return f"{BASE_URL}/CodeSystem/{inst.id}-bands"


def total_observation(a: AssessmentRecord) -> dict[str, Any]:
    """R4 Observation for a total score, band as interpretation, derived from the response."""
    inst = get_instrument(a.instrument_id)
    obs: dict[str, Any] = {
        "resourceType": "Observation",
        "id": score_id(a.id),
        "meta": {"lastUpdated": instant(a.recorded_at)},
        "identifier": [{"system": ASSESSMENT_ID_SYSTEM, "value": str(a.id)}],
        "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": total_code(inst),
        "subject": patient_ref(a.patient_id),
        "effectiveDateTime": instant(a.completed_at),
    }
    band = next((b for b in inst.bands if b.code == a.band), None)
    band_coding = (
        {"system": band_system(inst), "code": band.code, "display": band.label} if band else None
    )
    if a.total is not None:
        obs["valueQuantity"] = {
            "value": a.total,
            "unit": "{score}",
            "system": UCUM,
            "code": "{score}",
        }
    elif band_coding is not None:
        obs["valueCodeableConcept"] = {"coding": [band_coding], "text": band_coding["display"]}
    if band_coding is not None:
        obs["interpretation"] = [{"coding": [band_coding], "text": band_coding["display"]}]
    if a.imported_total:
        obs["note"] = [{"text": "Total imported without item answers."}]
    else:
        obs["derivedFrom"] = [ref("QuestionnaireResponse", response_id(a.id))]
    return obs


def assessment_resources(a: AssessmentRecord) -> list[dict[str, Any]]:
    """The response (when items were answered) and the total-score Observation."""
    out = [] if a.imported_total else [questionnaire_response(a)]
    return [*out, total_observation(a)]


def condition_resource(d: DiagnosisRecord) -> dict[str, Any]:
    """R4 Condition coded as recorded (SNOMED CT and/or ICD-10-CM)."""
    codings = []
    if d.snomed_code:
        codings.append(
            {"system": SNOMED, "code": d.snomed_code, "display": d.snomed_display or d.text}
        )
    if d.icd10_code:
        codings.append(
            {"system": ICD10CM, "code": d.icd10_code, "display": d.icd10_display or d.text}
        )
    out: dict[str, Any] = {
        "resourceType": "Condition",
        "id": f"dx-{d.id}",
        "clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": d.clinical_status}]},
        "verificationStatus": {"coding": [{"system": CONDITION_VERIFICATION, "code": "confirmed"}]},
        "category": [
            {
                "coding": [
                    {
                        "system": CONDITION_CATEGORY,
                        "code": "problem-list-item",
                        "display": "Problem List Item",
                    }
                ]
            }
        ],
        "code": {"coding": codings, "text": d.text},
        "subject": patient_ref(d.patient_id),
    }
    if d.onset is not None:
        out["onsetDateTime"] = d.onset.isoformat()
    if d.recorded_at is not None:
        out["recordedDate"] = instant(d.recorded_at)
    return out


def entry(base: str, resource: Mapping[str, Any]) -> dict[str, Any]:
    """A Bundle entry with an absolute ``fullUrl`` under ``base``."""
    return {
        "fullUrl": f"{base.rstrip('/')}/{resource['resourceType']}/{resource['id']}",
        "resource": resource,
    }


def collection_bundle(
    base: str, resources: Iterable[Mapping[str, Any]], timestamp: datetime, bundle_id: str
) -> dict[str, Any]:
    """An R4 ``collection`` Bundle of ``resources``."""
    return {
        "resourceType": "Bundle",
        "id": bundle_id,
        "type": "collection",
        "timestamp": instant(timestamp),
        "entry": [entry(base, r) for r in resources],
    }


def searchset(
    base: str,
    self_url: str,
    resources: Sequence[Mapping[str, Any]],
    next_url: str | None = None,
    complete: bool = True,
    ignored: Sequence[str] = (),
) -> dict[str, Any]:
    """An R4 ``searchset`` Bundle (every entry a match). ``next_url``: the next page's link;
    ``total`` only when ``complete`` (the page is every match). ``ignored``: parameters left
    out under ``Prefer: handling=lenient``, said in an OperationOutcome entry (mode
    ``outcome``)."""
    out: dict[str, Any] = {"resourceType": "Bundle", "type": "searchset"}
    if complete:
        out["total"] = len(resources)
    out["link"] = [{"relation": "self", "url": self_url}]
    if next_url:
        out["link"].append({"relation": "next", "url": next_url})
    out["entry"] = [{**entry(base, r), "search": {"mode": "match"}} for r in resources]
    if ignored:
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "warning",
                    "code": "not-supported",
                    "diagnostics": f"ignored unsupported search parameter {name!r}",
                    "expression": [name],
                }
                for name in ignored
            ],
        }
        out["entry"].append({"resource": outcome, "search": {"mode": "outcome"}})
    return out
