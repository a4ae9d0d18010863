"""Code systems, codes and identifier systems used by ketacare's FHIR R4 mapping.

Sources (see ``docs/fhir.md``): LOINC codes from the clinical reference §2 (HL7 US Behavioral
Health Profiles IG, US Core examples); vital-sign codes from the FHIR R4 vital-signs profile;
SNOMED CT route codes from the FHIR R4 ``route-codes`` value set; RxNorm codes as cited below;
AdverseEvent codes from HL7 Terminology (THO) as cited below.
"""

from __future__ import annotations

from ketacare.fhir.questionnaire import BASE_URL, FHIR_VERSION, LOINC

__all__ = ["BASE_URL", "FHIR_VERSION", "LOINC"]

SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
UCUM = "http://unitsofmeasure.org"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
CONDITION_VERIFICATION = "http://terminology.hl7.org/CodeSystem/condition-ver-status"
CONDITION_CATEGORY = "http://terminology.hl7.org/CodeSystem/condition-category"
URI_SYSTEM = "urn:ietf:rfc:3986"
SYNTHEA_SYSTEM = "https://github.com/synthetichealth/synthea"

#: ketacare's own code system for instrument totals that LOINC lacks (MADRS, QIDS-SR16, ...).
INSTRUMENT_TOTAL_SYSTEM = f"{BASE_URL}/CodeSystem/instrument-total"
#: Identifier systems for ketacare's own records.
PATIENT_ID_SYSTEM = f"{BASE_URL}/sid/patient"
ASSESSMENT_ID_SYSTEM = f"{BASE_URL}/sid/assessment"
SESSION_ID_SYSTEM = f"{BASE_URL}/sid/treatment-session"
SCALE_SCORE_ID_SYSTEM = f"{BASE_URL}/sid/session-scale"
ADVERSE_EVENT_ID_SYSTEM = f"{BASE_URL}/sid/adverse-event"

#: ketacare's own code systems for what a treatment session charts (no standard code is
#: verified for them; CADSS and MOAA/S have no LOINC code, clinical reference §9 item 2).
SESSION_TIMEPOINT_SYSTEM = f"{BASE_URL}/CodeSystem/session-timepoint"
OBSERVATION_COMPONENT_SYSTEM = f"{BASE_URL}/CodeSystem/observation-component"
ADVERSE_EVENT_TERM_SYSTEM = f"{BASE_URL}/CodeSystem/adverse-event-term"
TIMEPOINT_COMPONENT = ("timepoint", "Session timepoint")
#: Session timepoints of a CADSS/MOAA-S rating (the stored values; ``sessions/schemas.py``).
SESSION_TIMEPOINTS: dict[str, str] = {
    "pre_dose": "Pre-dose",
    "peak": "Peak",
    "discharge": "Discharge",
    "other": "Other",
}
#: ketacare's adverse-event terms (the stored values; ``sessions/schemas.py``) and displays.
ADVERSE_EVENT_TERMS: dict[str, str] = {
    "nausea": "Nausea",
    "vomiting": "Vomiting",
    "headache": "Headache",
    "dizziness": "Dizziness",
    "raised_blood_pressure": "Raised blood pressure",
    "dissociation": "Dissociation",
    "sedation": "Sedation",
    "anxiety": "Anxiety",
    "respiratory_depression": "Respiratory depression",
    "other": "Other",
}

# AdverseEvent (HL7 Terminology, terminology.hl7.org; R4 bindings: severity and outcome
# required, seriousness example).
# - Seriousness: the current THO CodeSystem (v1.0.1) defines "serious" / "non-serious". The
#   copy printed in the FHIR R4 4.0.1 specification capitalised them ("Serious",
#   "Non-serious"; codes are case-sensitive): a receiver on R4-era terminology may expect those.
# - Severity: mild | moderate | severe (R4 4.0.1 and THO).
# - Outcome: resolved | recovering | ongoing | resolvedWithSequelae | fatal | unknown (R4 4.0.1).
AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"
AE_OUTCOME = "http://terminology.hl7.org/CodeSystem/adverse-event-outcome"
SERIOUSNESS = {True: ("serious", "Serious"), False: ("non-serious", "Non-serious")}
SEVERITIES = {"mild": "Mild", "moderate": "Moderate", "severe": "Severe"}
#: ketacare outcome -> R4 outcome code; "transferred" has no R4 code and is not exported.
AE_OUTCOMES: dict[str, tuple[str, str]] = {
    "resolved": ("resolved", "Resolved"),
    "resolving": ("recovering", "Recovering"),
    "not_resolved": ("ongoing", "Ongoing"),
    "unknown": ("unknown", "Unknown"),
}

# RxNorm (system http://www.nlm.nih.gov/research/umls/rxnorm):
# - 2201623 "esketamine Nasal Spray" (TTY SCDF, prescribable, active): checked on
#   https://ndclist.com/rxnorm/rxcui/2201623 (RxNorm release 2026-05-04) [V].
# - 6130 "ketamine" (TTY IN, ingredient): two independent secondary sources agree [S] — a public
#   PharmGKB/ClinPGx drug cross-reference table lists ketamine (PA450144, ATC N01AX03, PubChem
#   3821) with RxNorm 6130, and the CLIF consortium's mCIDE concept map (Common-Longitudinal-
#   ICU-data-Format) maps "ketamine intermittent bolus" to RxNorm/6130 beside fentanyl 4337
#   and rocuronium 68139. NLM's RxNav (primary) was not reachable from the build machine:
#   confirm on https://mor.nlm.nih.gov/RxNav/search?searchBy=RXCUI&searchTerm=6130.
RXNORM_KETAMINE = ("6130", "ketamine")
RXNORM_ESKETAMINE_NASAL = ("2201623", "esketamine Nasal Spray")

# SNOMED CT route of administration (FHIR R4 value set route-codes) [S].
ROUTES: dict[str, tuple[str, str]] = {
    "iv": ("47625008", "Intravenous route"),
    "im": ("78421000", "Intramuscular route"),
    "esketamine": ("46713006", "Nasal route"),
}

# Vital signs (FHIR R4 vital-signs profile; LOINC).
VITALS_PANEL_BP = ("85354-9", "Blood pressure panel with all children optional")
SYSTOLIC = ("8480-6", "Systolic blood pressure")
DIASTOLIC = ("8462-4", "Diastolic blood pressure")
HEART_RATE = ("8867-4", "Heart rate")
#: SpO2: the R4 ``oxygensat`` profile requires 2708-6 (Observation.code.coding:OxygenSatCode,
#: hl7.org/fhir/R4/oxygensat.html); the pulse-oximetry code 59408-5 is exported with it as the
#: more specific coding (as in R4's example observation-example-satO2). Either one finds the
#: reading in ``GET /fhir/Observation?code=``.
OXYGEN_SAT = ("2708-6", "Oxygen saturation in Arterial blood")
SPO2 = ("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry")
RESP_RATE = ("9279-1", "Respiratory rate")

#: Psychiatric diagnoses (SNOMED CT) the importer keeps as Conditions; others are skipped.
PSYCHIATRIC_SNOMED: dict[str, str] = {
    "35489007": "Depressive disorder",
    "370143000": "Major depressive disorder",
    "36923009": "Major depression, single episode",
    "66344007": "Recurrent major depression",
    "192080009": "Chronic depression",
    "197480006": "Anxiety disorder",
    "21897009": "Generalized anxiety disorder",
    "80583007": "Severe anxiety (panic)",
}
