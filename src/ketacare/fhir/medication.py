"""Treatment sessions as FHIR R4: MedicationAdministration and vital-sign Observations.

Kept in one module so the mapping follows the sessions feature (``features/sessions``) in one
place. Covered: the given dose (route, product, start/end, mg) and each VitalSign reading
(blood pressure panel 85354-9 with 8480-6/8462-4, heart rate 8867-4, SpO2 59408-5,
respiratory rate 9279-1). Not mapped: CADSS/MOAA-S scale scores, adverse events, REMS forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ketacare.fhir.codes import (
    DIASTOLIC,
    HEART_RATE,
    LOINC,
    OBS_CATEGORY,
    RESP_RATE,
    ROUTES,
    RXNORM,
    RXNORM_ESKETAMINE_NASAL,
    RXNORM_KETAMINE,
    SESSION_ID_SYSTEM,
    SNOMED,
    SPO2,
    SYSTOLIC,
    UCUM,
    VITALS_PANEL_BP,
)
from ketacare.fhir.export import instant, patient_ref, ref


@dataclass(frozen=True, slots=True)
class DoseRecord:
    """The dose given in one treatment session."""

    session_id: int
    patient_id: int
    route: str
    product: str
    given_dose_mg: float | None
    dose_start: datetime | None
    dose_end: datetime | None
    lot: str = ""


@dataclass(frozen=True, slots=True)
class VitalRecord:
    """One vital-sign reading of a session (any value may be missing); ``dosed`` says whether
    the session has a MedicationAdministration to link to."""

    id: int
    session_id: int
    patient_id: int
    at: datetime
    dosed: bool
    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    spo2: int | None = None
    resp_rate: int | None = None


def administration_id(session_id: int) -> str:
    """Resource id of a session's MedicationAdministration."""
    return f"dose-{session_id}"


def session_link(session_id: int, dosed: bool) -> dict[str, Any]:
    """``partOf`` linking a session's Observation to its MedicationAdministration; empty when
    no dose was started (there is no administration to point at)."""
    if not dosed:
        return {}
    return {"partOf": [ref("MedicationAdministration", administration_id(session_id))]}


def medication_code(route: str) -> dict[str, Any]:
    """RxNorm code of the drug given by ``route`` (nasal spray: esketamine)."""
    code, display = RXNORM_ESKETAMINE_NASAL if route == "esketamine" else RXNORM_KETAMINE
    return {"coding": [{"system": RXNORM, "code": code, "display": display}], "text": display}


def medication_administration(d: DoseRecord) -> dict[str, Any] | None:
    """R4 MedicationAdministration, or None when no dose was started."""
    if d.dose_start is None:
        return None
    effective: dict[str, Any]
    if d.dose_end is not None:
        effective = {
            "effectivePeriod": {"start": instant(d.dose_start), "end": instant(d.dose_end)}
        }
    else:
        effective = {"effectiveDateTime": instant(d.dose_start)}
    dosage: dict[str, Any] = {}
    if d.route in ROUTES:
        code, display = ROUTES[d.route]
        dosage["route"] = {"coding": [{"system": SNOMED, "code": code, "display": display}]}
    if d.given_dose_mg is not None:
        dosage["dose"] = {"value": d.given_dose_mg, "unit": "mg", "system": UCUM, "code": "mg"}
    out: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "id": administration_id(d.session_id),
        "identifier": [{"system": SESSION_ID_SYSTEM, "value": str(d.session_id)}],
        "status": "completed" if d.given_dose_mg is not None else "in-progress",
        "medicationCodeableConcept": medication_code(d.route),
        "subject": patient_ref(d.patient_id),
        **effective,
    }
    notes = [t for t in (d.product and f"Product: {d.product}", d.lot and f"Lot: {d.lot}") if t]
    if notes:
        out["note"] = [{"text": "; ".join(notes)}]
    if dosage:
        out["dosage"] = dosage
    return out


def _quantity(value: int, unit: str, code: str) -> dict[str, Any]:
    return {"value": value, "unit": unit, "system": UCUM, "code": code}


def _vital(v: VitalRecord, suffix: str, code: tuple[str, str]) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": f"vs-{v.id}-{suffix}",
        "status": "final",
        "category": [
            {"coding": [{"system": OBS_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}
        ],
        "code": {
            "coding": [{"system": LOINC, "code": code[0], "display": code[1]}],
            "text": code[1],
        },
        "subject": patient_ref(v.patient_id),
        "effectiveDateTime": instant(v.at),
        **session_link(v.session_id, v.dosed),
    }


def vital_observations(v: VitalRecord) -> list[dict[str, Any]]:
    """One Observation per measured vital sign of a reading (BP as a panel)."""
    out: list[dict[str, Any]] = []
    if v.systolic is not None or v.diastolic is not None:
        bp = _vital(v, "bp", VITALS_PANEL_BP)
        bp["component"] = [
            {
                "code": {"coding": [{"system": LOINC, "code": c[0], "display": c[1]}]},
                "valueQuantity": _quantity(value, "mmHg", "mm[Hg]"),
            }
            for c, value in ((SYSTOLIC, v.systolic), (DIASTOLIC, v.diastolic))
            if value is not None
        ]
        out.append(bp)
    for suffix, code, value, unit, ucum in (
        ("hr", HEART_RATE, v.heart_rate, "beats/minute", "/min"),
        ("spo2", SPO2, v.spo2, "%", "%"),
        ("rr", RESP_RATE, v.resp_rate, "breaths/minute", "/min"),
    ):
        if value is not None:
            obs = _vital(v, suffix, code)
            obs["valueQuantity"] = _quantity(value, unit, ucum)
            out.append(obs)
    return out
