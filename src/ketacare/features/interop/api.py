"""The FHIR R4 API at /fhir: bearer API tokens of staff, scoped to the token owner's clinic.

Every read, search and write is audited with channel ``fhir``. JSON is sent as
``application/fhir+json``; errors are OperationOutcomes (``features/interop/outcome.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

import ketacare
from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import get_instrument, instrument_ids
from ketacare.features._kit.dates import check_date
from ketacare.features._kit.deps import DbDep, SettingsDep, client_ip
from ketacare.features._kit.errors import BadRequest, NotFound
from ketacare.features._kit.params import RowId
from ketacare.features.assessments.models import Assessment, Source
from ketacare.features.assessments.service import Actor, store_assessment
from ketacare.features.audit.service import record
from ketacare.features.auth.deps import ApiStaff
from ketacare.features.auth.models import User
from ketacare.features.interop.exporter import (
    assessment_record,
    is_imported_total,
    patient_record,
    patient_refs,
    scale_record,
    vital_record,
)
from ketacare.features.patients.models import Patient
from ketacare.features.patients.service import get_patient
from ketacare.features.sessions.models import ScaleScore, TreatmentSession, VitalSign
from ketacare.fhir import answers_from_response, match_questionnaire, to_questionnaire
from ketacare.fhir.codes import INSTRUMENT_TOTAL_SYSTEM, LOINC
from ketacare.fhir.export import (
    assessment_resources,
    patient_resource,
    questionnaire_response,
    searchset,
    total_observation,
)
from ketacare.fhir.medication import scale_observation, vital_observations
from ketacare.fhir.search import Bound, date_bounds, patient_id, tokens, within
from ketacare.fhir.server import FHIR_JSON, capability_statement

router = APIRouter(prefix="/fhir", tags=["fhir"])
MAX_RESULTS = 1000
TOTAL_CODES = {
    get_instrument(i).loinc_total: i for i in instrument_ids() if get_instrument(i).loinc_total
}


class FhirResponse(JSONResponse):
    """JSON with the FHIR media type."""

    media_type = FHIR_JSON


def base_url(request: Request) -> str:
    """This server's FHIR base URL, as the client reached it."""
    return str(request.base_url).rstrip("/") + "/fhir"


def _audit(
    db: Session,
    user: User,
    request: Request,
    action: str,
    resource: str,
    rid: object,
    patient: int | None,
    found: list[dict[str, Any]] | None = None,
) -> None:
    """One event; for a search, ``found`` names every patient whose resources were returned."""
    seen = [] if found is None else subject_ids(found)
    record(db, user, action, resource, rid, patient, channel="fhir", client=client_ip(request),
           patients=seen)  # fmt: skip


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


def _patient(db: Session, user: User, value: str | None) -> Patient | None:
    if value is None:
        return None
    try:
        pid = patient_id(value)
    except InvalidAnswer as exc:
        raise BadRequest(exc.reason, exc.field) from None
    return get_patient(db, user.clinic_id, pid)


@router.get("/metadata", response_class=FhirResponse)
def metadata(request: Request) -> FhirResponse:
    """CapabilityStatement: what this server supports (no token needed)."""
    return FhirResponse(capability_statement(base_url(request), ketacare.__version__))


@router.get("/Patient/{patient_id}", response_class=FhirResponse)
def read_patient(patient_id: RowId, request: Request, user: ApiStaff, db: DbDep) -> FhirResponse:
    """One patient of the caller's clinic."""
    patient = get_patient(db, user.clinic_id, patient_id)
    _audit(db, user, request, "read", "fhir.Patient", patient.id, patient.id)
    refs = patient_refs(db, [patient.id]).get(patient.id, [])
    return FhirResponse(patient_resource(patient_record(patient, refs)))


@router.get("/Questionnaire/{questionnaire_id}", response_class=FhirResponse)
def read_questionnaire(
    questionnaire_id: str, request: Request, user: ApiStaff, db: DbDep
) -> FhirResponse:
    """ketacare's Questionnaire of a built-in instrument (id = instrument id, e.g. phq9)."""
    if questionnaire_id not in instrument_ids():
        raise NotFound("no such Questionnaire")
    _audit(db, user, request, "read", "fhir.Questionnaire", questionnaire_id, None)
    return FhirResponse(to_questionnaire(questionnaire_id))


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


def _scale_observations(
    db: Session,
    clinic_id: int,
    who: Patient | None,
    instruments: set[str] | None,
    bounds: list[Bound],
) -> list[dict[str, Any]]:
    """Session CADSS/MOAA-S total Observations, mapped as the export maps them (one query for
    the scale rows of every matched session; ``instruments`` None: any)."""
    stmt = (
        select(ScaleScore, TreatmentSession.patient_id, TreatmentSession.dose_start)
        .join(TreatmentSession, TreatmentSession.id == ScaleScore.session_id)
        .where(TreatmentSession.clinic_id == clinic_id)
    )
    if who is not None:
        stmt = stmt.where(TreatmentSession.patient_id == who.id)
    if instruments is not None:
        stmt = stmt.where(ScaleScore.instrument_id.in_(instruments))
    for op, at in bounds:
        stmt = stmt.where(ScaleScore.at >= at if op == "ge" else ScaleScore.at < at)
    rows = db.execute(stmt.order_by(ScaleScore.at, ScaleScore.id).limit(MAX_RESULTS)).all()
    return [
        scale_observation(scale_record(x, pid, dose_start is not None))
        for x, pid, dose_start in rows
    ]


@router.get("/Observation", response_class=FhirResponse)
def search_observations(
    request: Request,
    user: ApiStaff,
    db: DbDep,
    patient: str | None = None,
    code: str | None = None,
    date: Annotated[list[str] | None, Query()] = None,
) -> FhirResponse:
    """Total-score, vital-sign and session scale (CADSS/MOAA-S) Observations of the clinic's
    patients: assessment totals, then vital signs, then scale totals, each by time and id."""
    who = _patient(db, user, patient)
    bounds = _bounds(date or [], "date")
    wanted = tokens(code) if code else []
    instruments = _instruments_for(wanted)
    stmt = select(Assessment).where(Assessment.clinic_id == user.clinic_id)
    if who is not None:
        stmt = stmt.where(Assessment.patient_id == who.id)
    if wanted:
        stmt = stmt.where(Assessment.instrument_id.in_(instruments))
    for op, at in bounds:
        stmt = stmt.where(
            Assessment.completed_at >= at if op == "ge" else Assessment.completed_at < at
        )
    stmt = stmt.order_by(Assessment.completed_at, Assessment.id).limit(MAX_RESULTS)
    found = [total_observation(assessment_record(a)) for a in db.execute(stmt).scalars()]
    vstmt = (
        select(VitalSign, TreatmentSession.patient_id, TreatmentSession.dose_start)
        .join(TreatmentSession, TreatmentSession.id == VitalSign.session_id)
        .where(TreatmentSession.clinic_id == user.clinic_id)
    )
    if who is not None:
        vstmt = vstmt.where(TreatmentSession.patient_id == who.id)
    for op, at in bounds:
        vstmt = vstmt.where(VitalSign.at >= at if op == "ge" else VitalSign.at < at)
    rows = db.execute(vstmt.order_by(VitalSign.at, VitalSign.id).limit(MAX_RESULTS)).all()
    for v, pid, dose_start in rows:
        for obs in vital_observations(vital_record(v, pid, dose_start is not None)):
            if not wanted or _code_matches(obs, wanted):
                found.append(obs)
    if len(found) < MAX_RESULTS and (not wanted or instruments):
        found += _scale_observations(
            db, user.clinic_id, who, instruments if wanted else None, bounds
        )
    found = found[:MAX_RESULTS]
    _audit(db, user, request, "search", "fhir.Observation", code or "", who.id if who else None,
           found)  # fmt: skip
    return FhirResponse(searchset(base_url(request), str(request.url), found))


@router.get("/QuestionnaireResponse", response_class=FhirResponse)
def search_responses(
    request: Request,
    user: ApiStaff,
    db: DbDep,
    patient: str | None = None,
    last_updated: Annotated[list[str] | None, Query(alias="_lastUpdated")] = None,
) -> FhirResponse:
    """QuestionnaireResponses (assessments with item answers) of the clinic's patients."""
    who = _patient(db, user, patient)
    bounds = _bounds(last_updated or [], "_lastUpdated")
    stmt = select(Assessment).where(Assessment.clinic_id == user.clinic_id)
    if who is not None:
        stmt = stmt.where(Assessment.patient_id == who.id)
    for op, at in bounds:
        stmt = stmt.where(Assessment.created_at >= at if op == "ge" else Assessment.created_at < at)
    rows = db.execute(
        stmt.order_by(Assessment.created_at, Assessment.id).limit(MAX_RESULTS)
    ).scalars()
    found = [questionnaire_response(assessment_record(a)) for a in rows if not is_imported_total(a)]
    found = [r for r in found if within(_parse_instant(r["meta"]["lastUpdated"]), bounds)]
    _audit(db, user, request, "search", "fhir.QuestionnaireResponse", "", who.id if who else None,
           found)  # fmt: skip
    return FhirResponse(searchset(base_url(request), str(request.url), found))


def _parse_instant(value: str) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(value.replace("Z", "+00:00"))


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


@router.post("/QuestionnaireResponse", response_class=FhirResponse, status_code=201)
def create_response(
    body: Annotated[dict[str, Any], Body()],
    request: Request,
    user: ApiStaff,
    db: DbDep,
    settings: SettingsDep,
) -> FhirResponse:
    """Score and store a completed response (alerts raised as for any assessment).

    ketacare recomputes the total; a total carried by the response is never trusted, and a
    different value is reported in the returned OperationOutcome-free resource as ketacare's.
    """
    if body.get("resourceType") != "QuestionnaireResponse":
        raise BadRequest("must be QuestionnaireResponse", "resourceType")
    if body.get("status") != "completed":
        raise BadRequest("only completed responses are scored and stored", "status")
    subject = body.get("subject") or {}
    patient = _patient(
        db, user, str(subject.get("reference") or "") if isinstance(subject, dict) else ""
    )
    assert patient is not None
    try:
        match = match_questionnaire(_instrument_of(body))
        answers, _supplied = answers_from_response(match, body)
    except InvalidAnswer as exc:
        raise BadRequest(exc.reason, exc.field) from None
    when = None
    if body.get("authored"):
        try:
            when = _parse_instant(str(body["authored"]))
        except ValueError:
            raise BadRequest("is not a FHIR dateTime", "authored") from None
        check_date(when, "authored")
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
        Actor(user, "fhir", client_ip(request)),
        completed_at=when,
        idempotency_key=key,
        baseline_rule=settings.outcome_baseline,
    )
    resources = assessment_resources(assessment_record(row))
    return FhirResponse(resources[0], status_code=201)
