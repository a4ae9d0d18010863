"""Treatment sessions as FHIR R4: MedicationAdministration, vital-sign and scale Observations,
AdverseEvents.

Kept in one module so the mapping follows the sessions feature (``features/sessions``) in one
place. Covered: the given dose (route, product, start/end, mg); each VitalSign reading (blood
pressure panel 85354-9 with 8480-6/8462-4, heart rate 8867-4, SpO2 2708-6 with 59408-5 (R4
oxygensat profile), respiratory rate 9279-1); each CADSS-6, CADSS-23 or MOAA/S total
(ketacare's instrument-total code system: no LOINC code is verified for them; the total and
the timepoint only, never item answers or CADSS item text); each adverse event (ketacare's
term list, THO seriousness/severity/outcome, the administration as suspect entity when the
event began at or after the dose). Observations of a session link to its
MedicationAdministration with ``partOf`` when the session has a dose.
Not mapped: REMS forms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ketacare.domain.instruments import get_instrument
from ketacare.fhir.codes import (
    ADVERSE_EVENT_ID_SYSTEM,
    ADVERSE_EVENT_TERM_SYSTEM,
    ADVERSE_EVENT_TERMS,
    AE_OUTCOME,
    AE_OUTCOMES,
    AE_SERIOUSNESS,
    AE_SEVERITY,
    DIASTOLIC,
    HEART_RATE,
    LOINC,
    OBS_CATEGORY,
    OBSERVATION_COMPONENT_SYSTEM,
    OXYGEN_SAT,
    RESP_RATE,
    ROUTES,
    RXNORM,
    RXNORM_ESKETAMINE_NASAL,
    RXNORM_KETAMINE,
    SCALE_SCORE_ID_SYSTEM,
    SERIOUSNESS,
    SESSION_ID_SYSTEM,
    SESSION_TIMEPOINT_SYSTEM,
    SESSION_TIMEPOINTS,
    SEVERITIES,
    SNOMED,
    SPO2,
    SYSTOLIC,
    TIMEPOINT_COMPONENT,
    UCUM,
    VITALS_PANEL_BP,
)
from ketacare.fhir.export import instant, patient_ref, ref, total_code


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


@dataclass(frozen=True, slots=True)
class ScaleRecord:
    """A CADSS-6, CADSS-23 or MOAA/S total of a session at a timepoint. Item answers are not
    part of it: only the total leaves ketacare."""

    id: int
    session_id: int
    patient_id: int
    instrument_id: str
    timepoint: str
    at: datetime
    total: int
    dosed: bool


@dataclass(frozen=True, slots=True)
class AdverseEventRecord:
    """A coded adverse event of a session; ``dose_start`` is the session's (None: no dose)."""

    id: int
    session_id: int
    patient_id: int
    term: str
    severity: str
    serious: bool
    onset_at: datetime
    recorded_at: datetime
    dose_start: datetime | None
    other_text: str = ""
    outcome: str = ""


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


def _vital(
    v: VitalRecord, suffix: str, code: tuple[str, str], *more: tuple[str, str]
) -> dict[str, Any]:
    """A vital-sign Observation coded ``more`` (the profile's required codes) then ``code``."""
    return {
        "resourceType": "Observation",
        "id": f"vs-{v.id}-{suffix}",
        "status": "final",
        "category": [
            {"coding": [{"system": OBS_CATEGORY, "code": "vital-signs", "display": "Vital Signs"}]}
        ],
        "code": {
            "coding": [{"system": LOINC, "code": c[0], "display": c[1]} for c in (*more, code)],
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
    for suffix, code, more, value, unit, ucum in (
        ("hr", HEART_RATE, (), v.heart_rate, "beats/minute", "/min"),
        ("spo2", SPO2, (OXYGEN_SAT,), v.spo2, "%", "%"),
        ("rr", RESP_RATE, (), v.resp_rate, "breaths/minute", "/min"),
    ):
        if value is not None:
            obs = _vital(v, suffix, code, *more)
            obs["valueQuantity"] = _quantity(value, unit, ucum)
            out.append(obs)
    return out


def _concept(system: str, code: str, display: str, text: str | None = None) -> dict[str, Any]:
    return {
        "coding": [{"system": system, "code": code, "display": display}],
        "text": text or display,
    }


def _label(code: str) -> str:
    return code.replace("_", " ").capitalize()


def scale_observation(s: ScaleRecord) -> dict[str, Any]:
    """R4 Observation of a CADSS/MOAA-S total (``{score}``) with its timepoint as a component."""
    inst = get_instrument(s.instrument_id)
    timepoint = _concept(
        SESSION_TIMEPOINT_SYSTEM,
        s.timepoint,
        SESSION_TIMEPOINTS.get(s.timepoint, _label(s.timepoint)),
    )
    return {
        "resourceType": "Observation",
        "id": f"scale-{s.id}",
        "identifier": [{"system": SCALE_SCORE_ID_SYSTEM, "value": str(s.id)}],
        "status": "final",
        "category": [{"coding": [{"system": OBS_CATEGORY, "code": "survey", "display": "Survey"}]}],
        "code": total_code(inst),
        "subject": patient_ref(s.patient_id),
        "effectiveDateTime": instant(s.at),
        **session_link(s.session_id, s.dosed),
        "valueQuantity": {"value": s.total, "unit": "{score}", "system": UCUM, "code": "{score}"},
        "component": [
            {
                "code": _concept(OBSERVATION_COMPONENT_SYSTEM, *TIMEPOINT_COMPONENT),
                "valueCodeableConcept": timepoint,
            }
        ],
    }


def adverse_event(e: AdverseEventRecord) -> dict[str, Any]:
    """R4 AdverseEvent; the administration is the suspect entity when the event began at or
    after the start of the dose (an event before dosing does not implicate the drug)."""
    term = ADVERSE_EVENT_TERMS.get(e.term, _label(e.term))
    text = e.other_text.strip() if e.term == "other" and e.other_text.strip() else term
    serious_code, serious_display = SERIOUSNESS[e.serious]
    out: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "id": f"ae-{e.id}",
        "identifier": {"system": ADVERSE_EVENT_ID_SYSTEM, "value": str(e.id)},
        "actuality": "actual",
        "event": _concept(ADVERSE_EVENT_TERM_SYSTEM, e.term, term, text),
        "subject": patient_ref(e.patient_id),
        "date": instant(e.onset_at),
        "recordedDate": instant(e.recorded_at),
        "seriousness": _concept(AE_SERIOUSNESS, serious_code, serious_display),
    }
    if e.severity in SEVERITIES:
        out["severity"] = _concept(AE_SEVERITY, e.severity, SEVERITIES[e.severity])
    if e.outcome in AE_OUTCOMES:
        out["outcome"] = _concept(AE_OUTCOME, *AE_OUTCOMES[e.outcome])
    if e.dose_start is not None and e.onset_at >= e.dose_start:
        out["suspectEntity"] = [
            {"instance": ref("MedicationAdministration", administration_id(e.session_id))}
        ]
    return out
