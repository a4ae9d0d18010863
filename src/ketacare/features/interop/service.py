"""FHIR API use cases: reads, searches, a scored response and a bundle import.

Each takes the caller's :class:`~ketacare.features.auth.actor.Actor` (channel ``fhir``) and
audits itself: reads name the patient, searches name every patient whose resources were
returned. Statements live in :mod:`ketacare.features.interop.queries`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import get_instrument, instrument_ids
from ketacare.features._kit.errors import BadRequest, NotFound
from ketacare.features.assessments.models import Source
from ketacare.features.assessments.service import store_assessment
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.interop import queries
from ketacare.features.interop.exporter import (
    assessment_record,
    is_imported_total,
    patient_record,
    patient_refs,
    scale_record,
    vital_record,
)
from ketacare.features.interop.importer import ImportReport, import_bundle
from ketacare.features.patients.models import Patient
from ketacare.features.patients.queries import get_patient
from ketacare.fhir import answers_from_response, match_questionnaire, to_questionnaire
from ketacare.fhir.codes import (
    HEART_RATE,
    INSTRUMENT_TOTAL_SYSTEM,
    LOINC,
    OXYGEN_SAT,
    RESP_RATE,
    SPO2,
    VITALS_PANEL_BP,
)
from ketacare.fhir.export import (
    assessment_resources,
    patient_resource,
    questionnaire_response,
    total_observation,
)
from ketacare.fhir.medication import scale_observation, vital_observations
from ketacare.fhir.reader import json_hazard, read_datetime
from ketacare.fhir.search import (
    Bound,
    SearchRequest,
    date_bounds,
    id_values,
    numbered,
    patient_id,
    tokens,
    within,
)
from ketacare.settings import OutcomeBaseline

TOTAL_CODES = {
    get_instrument(i).loinc_total: i for i in instrument_ids() if get_instrument(i).loinc_total
}
_VITAL_CODES = {c[0] for c in (VITALS_PANEL_BP, HEART_RATE, SPO2, OXYGEN_SAT, RESP_RATE)}


def _clinic(actor: Actor) -> int:
    if actor.clinic_id is None:
        raise ValueError("the actor acts for no clinic")
    return actor.clinic_id


def subject_ids(resources: list[dict[str, Any]]) -> list[int]:
    """The ids of the patients the resources are about (``subject``/``patient``/Patient)."""
    out: set[int] = set()
    for r in resources:
        if r.get("resourceType") == "Patient" and str(r.get("id", "")).isdigit():
            out.add(int(r["id"]))
        for field in ("subject", "patient"):
            ref = r.get(field)
            text = str(ref.get("reference", "")) if isinstance(ref, dict) else ""
            if text.startswith("Patient/") and text[8:].isdigit():
                out.add(int(text[8:]))
    return sorted(out)


def _bounds(values: list[str], param: str) -> list[Bound]:
    try:
        return date_bounds(values, param)
    except InvalidAnswer as exc:
        raise BadRequest(exc.reason, exc.field) from None


def _patient(db: Session, actor: Actor, value: str, param: str = "patient") -> Patient:
    try:
        pid = patient_id(value, param)
    except InvalidAnswer as exc:
        raise BadRequest(exc.reason, exc.field) from None
    return get_patient(db, _clinic(actor), pid)


def read_patient(db: Session, actor: Actor, pid: int) -> dict[str, Any]:
    """The Patient resource of one patient of the actor's clinic (audited as a read)."""
    patient = get_patient(db, _clinic(actor), pid)
    record(db, actor, "read", "fhir.Patient", patient.id, patient.id)
    refs = patient_refs(db, [patient.id]).get(patient.id, [])
    return patient_resource(patient_record(patient, refs))


def read_questionnaire(db: Session, actor: Actor, questionnaire_id: str) -> dict[str, Any]:
    """ketacare's Questionnaire of a built-in instrument (audited as a read)."""
    if questionnaire_id not in instrument_ids():
        raise NotFound("no such Questionnaire")
    record(db, actor, "read", "fhir.Questionnaire", questionnaire_id)
    return to_questionnaire(questionnaire_id)


def _instruments_for(codes: list[tuple[str | None, str]]) -> set[str]:
    out: set[str] = set()
    for system, code in codes:
        if system in (None, LOINC) and code in TOTAL_CODES:
            out.add(TOTAL_CODES[code] or "")
        if system in (None, INSTRUMENT_TOTAL_SYSTEM) and code in instrument_ids():
            out.add(code)
    return out


def _code_matches(resource: dict[str, Any], codes: list[tuple[str | None, str]]) -> bool:
    for c in resource["code"]["coding"]:
        for system, code in codes:
            if c["code"] == code and system in (None, c["system"]):
                return True
    return False


def _who(db: Session, actor: Actor, search: SearchRequest) -> tuple[Patient | None, bool]:
    """The patient named by ``patient`` / ``subject`` (each value checked, ANDed), and False
    when they name different patients (nothing can match)."""
    named: dict[int, Patient] = {}
    for param in ("patient", "subject", "subject:Patient"):
        for value in search.values(param):
            who = _patient(db, actor, value, param)
            named[who.id] = who
    if len(named) > 1:
        return None, False
    return next(iter(named.values()), None), True


def _searched(
    db: Session,
    actor: Actor,
    resource: str,
    rid: str,
    who: Patient | None,
    search: SearchRequest,
    sections: list[queries.Section],
) -> list[dict[str, Any]]:
    found = queries.page(db, sections, search.offset, search.count)
    record(db, actor, "search", resource, rid, who.id if who else None,
           patients=subject_ids(found[: search.count]))  # fmt: skip
    return found


def search_observations(
    db: Session, actor: Actor, search: SearchRequest, code: str = ""
) -> list[dict[str, Any]]:
    """Total-score, vital-sign and session scale Observations matching ``search``: assessment
    totals, then vital signs, then scale totals, each by time and id; one page (and one more
    resource when a next page exists). Audited as a search (resource id: the ``code`` asked
    for) naming the patients returned."""
    clinic = _clinic(actor)
    who, possible = _who(db, actor, search)
    bounds = _bounds(search.values("date"), "date")
    wanted = [t for value in search.values("code") for t in tokens(value)]
    instruments = _instruments_for(wanted)
    want_ids = id_values(search.values("_id"))
    score_ids, vital_ids, scale_ids = (
        numbered(want_ids, prefix) for prefix in ("score-", "vs-", "scale-")
    )
    pid = who.id if who is not None else None
    sections: list[queries.Section] = []
    if possible and (not wanted or instruments) and score_ids != set():
        stmt = queries.assessments(clinic, pid, instruments if wanted else None, score_ids, bounds)
        sections.append(
            queries.Section(stmt, lambda row: [total_observation(assessment_record(row[0]))], True)
        )
    vital_wanted = not wanted or any(
        system in (None, LOINC) and c in _VITAL_CODES for system, c in wanted
    )
    if possible and vital_wanted and vital_ids != set():

        def vitals(row: Any) -> list[dict[str, Any]]:
            v, patient, dose_start = row
            return [
                obs
                for obs in vital_observations(vital_record(v, patient, dose_start is not None))
                if (not wanted or _code_matches(obs, wanted))
                and (want_ids is None or obs["id"] in want_ids)
            ]

        sections.append(
            queries.Section(queries.vital_signs(clinic, pid, vital_ids, bounds), vitals, False)
        )
    if possible and (not wanted or instruments) and scale_ids != set():
        sections.append(
            queries.Section(
                queries.scale_scores(
                    clinic, pid, instruments if wanted else None, scale_ids, bounds
                ),
                lambda row: [scale_observation(scale_record(row[0], row[1], row[2] is not None))],
                True,
            )
        )
    return _searched(db, actor, "fhir.Observation", code, who, search, sections)


def _parse_instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def search_responses(db: Session, actor: Actor, search: SearchRequest) -> list[dict[str, Any]]:
    """QuestionnaireResponses (assessments with item answers) matching ``search``, by time
    stored and id; one page as for Observations. Audited as a search."""
    who, possible = _who(db, actor, search)
    bounds = _bounds(search.values("_lastUpdated"), "_lastUpdated")
    want_ids = id_values(search.values("_id"))
    row_ids = numbered(want_ids, "qr-")
    sections: list[queries.Section] = []
    if possible and row_ids != set():
        stmt = queries.assessments(
            _clinic(actor), who.id if who else None, None, row_ids, bounds, by="created_at"
        )

        def response(row: Any) -> list[dict[str, Any]]:
            a = row[0]
            if is_imported_total(a):
                return []
            qr = questionnaire_response(assessment_record(a))
            if not within(_parse_instant(qr["meta"]["lastUpdated"]), bounds):
                return []
            if want_ids is not None and qr["id"] not in want_ids:
                return []
            return [qr]

        sections.append(queries.Section(stmt, response, False))
    return _searched(db, actor, "fhir.QuestionnaireResponse", "", who, search, sections)


def _instrument_of(body: dict[str, Any]) -> dict[str, Any]:
    canonical = str(body.get("questionnaire") or "")
    if canonical.startswith("#"):
        for res in body.get("contained") or ():
            if isinstance(res, dict) and res.get("id") == canonical[1:]:
                return res
        raise BadRequest("points at a contained Questionnaire that is not there", "questionnaire")
    iid = canonical.rsplit("/", 1)[-1].split("|", 1)[0]
    if "/Questionnaire/" not in canonical or iid not in instrument_ids():
        raise BadRequest(
            "must be ketacare's canonical URL (see GET /fhir/Questionnaire/{id}) or '#<contained>'",
            "questionnaire",
        )
    return to_questionnaire(iid)


def create_response(
    db: Session,
    actor: Actor,
    body: dict[str, Any],
    baseline_rule: OutcomeBaseline,
) -> dict[str, Any]:
    """Score and store a completed QuestionnaireResponse; return ketacare's resource for it
    (the total is recomputed, never trusted). Audited by the assessment service."""
    if body.get("resourceType") != "QuestionnaireResponse":
        raise BadRequest("must be QuestionnaireResponse", "resourceType")
    hazard = json_hazard(body)  # NaN/Infinity, NUL or deep nesting: refused before reading
    if hazard:
        raise BadRequest(hazard, "body")
    if body.get("status") != "completed":
        raise BadRequest("only completed responses are scored and stored", "status")
    subject = body.get("subject") or {}
    reference = str(subject.get("reference") or "") if isinstance(subject, dict) else ""
    patient = _patient(db, actor, reference, "subject")
    try:
        match = match_questionnaire(_instrument_of(body))
        answers, _supplied = answers_from_response(match, body)
    except InvalidAnswer as exc:
        raise BadRequest(exc.reason, exc.field) from None
    when = None
    if body.get("authored"):
        try:  # the importer's rule: a time zone, years 1900-2200, domain.dates
            when = read_datetime(body["authored"], "authored")
        except ValueError as exc:
            raise BadRequest(str(exc).removeprefix("authored "), "authored") from None
    ident = body.get("identifier") or {}
    key = None
    if isinstance(ident, dict) and ident.get("value"):
        key = f"fhir:{ident.get('system', '')}|{ident['value']}"
    row, _alerts, _created = store_assessment(
        db,
        patient,
        match.instrument_id,
        answers,
        Source.api,
        actor,
        completed_at=when,
        idempotency_key=key,
        baseline_rule=baseline_rule,
    )
    return assessment_resources(assessment_record(row))[0]


def import_into_clinic(db: Session, actor: Actor, body: Any) -> ImportReport:
    """Import one bundle into the actor's clinic (the importer audits each patient)."""
    return import_bundle(db, _clinic(actor), body, "api", actor)
