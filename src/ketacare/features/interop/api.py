"""The FHIR R4 API at /fhir: bearer API tokens of staff, scoped to the token owner's clinic.

Every read, search and write is audited with channel ``fhir``. JSON is sent as
``application/fhir+json``; errors are OperationOutcomes (``features/interop/outcome.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import ketacare
from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import get_instrument, instrument_ids
from ketacare.features._kit.deps import DbDep, SettingsDep, client_ip
from ketacare.features._kit.errors import BadRequest, KetacareError, NotFound
from ketacare.features._kit.params import RowId
from ketacare.features.assessments.models import Assessment, Source
from ketacare.features.assessments.service import store_assessment
from ketacare.features.audit.actor import Actor
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
from ketacare.features.interop.importer import ImportReport, import_bundle
from ketacare.features.patients.models import Patient
from ketacare.features.patients.service import get_patient
from ketacare.features.sessions.models import ScaleScore, TreatmentSession, VitalSign
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
    searchset,
    total_observation,
)
from ketacare.fhir.medication import scale_observation, vital_observations
from ketacare.fhir.reader import BundleError, EntryNote, json_hazard, read_datetime
from ketacare.fhir.search import (
    MAX_COUNT,
    MAX_OFFSET,
    Bound,
    SearchRequest,
    UnknownParameter,
    date_bounds,
    id_values,
    numbered,
    page_url,
    patient_id,
    read_search,
    tokens,
    within,
)
from ketacare.fhir.server import FHIR_JSON, capability_statement

router = APIRouter(prefix="/fhir", tags=["fhir"])
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


class UnsupportedSearch(KetacareError):
    """An unsupported search parameter under ``Prefer: handling=strict`` (FHIR: 400)."""

    status_code = 400


def _patient(db: Session, user: User, value: str | None, param: str = "patient") -> Patient | None:
    if value is None:
        return None
    try:
        pid = patient_id(value, param)
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


@dataclass(frozen=True)
class _Section:
    """One source of a search's results, in the search's order. ``exact``: one resource per
    row (so an offset can be skipped in SQL, after one count); otherwise rows are streamed and
    mapped to any number of resources (``to`` may return none)."""

    stmt: Any  # a Select of the section's rows, ordered
    to: Callable[[Any], list[dict[str, Any]]]
    exact: bool


def _page(db: Session, sections: list[_Section], offset: int, count: int) -> list[dict[str, Any]]:
    """Resources ``offset`` .. ``offset + count`` (one more, to know whether a next page
    exists) of the sections in order; never more than ``count + 1`` mapped."""
    skip, need = offset, count + 1
    out: list[dict[str, Any]] = []
    for section in sections:
        if need <= 0:
            break
        if section.exact:
            if skip:
                total = db.execute(
                    select(func.count()).select_from(section.stmt.order_by(None).subquery())
                ).scalar_one()
                if skip >= total:
                    skip -= total
                    continue
            rows = db.execute(section.stmt.offset(skip).limit(need)).all()
            skip = 0
            for row in rows:
                out += section.to(row)
            need = count + 1 - len(out)
            continue
        result = db.execute(section.stmt.execution_options(yield_per=500))
        try:
            for row in result:
                for resource in section.to(row):
                    if skip:
                        skip -= 1
                    elif need > 0:
                        out.append(resource)
                        need -= 1
                if need <= 0:
                    break
        finally:
            result.close()
    return out


def _search(
    request: Request, known: frozenset[str], prefer: str | None
) -> tuple[SearchRequest, str]:
    try:
        search = read_search(list(request.query_params.multi_items()), known, prefer)
    except UnknownParameter as exc:
        raise UnsupportedSearch(exc.reason, exc.field) from None
    except InvalidAnswer as exc:
        raise BadRequest(exc.reason, exc.field) from None
    return search, request.url.path.rsplit("/", 1)[-1]


def _answer(
    request: Request, search: SearchRequest, rtype: str, found: list[dict[str, Any]]
) -> FhirResponse:
    base = base_url(request)
    more = len(found) > search.count
    page = found[: search.count]
    next_url = page_url(base, rtype, search, search.offset + search.count) if more else None
    self_url = page_url(base, rtype, search, search.offset)
    complete = not more and search.offset == 0
    return FhirResponse(searchset(base, self_url, page, next_url, complete, search.ignored))


def _who(db: Session, user: User, search: SearchRequest) -> tuple[Patient | None, bool]:
    """The patient named by ``patient`` / ``subject`` (each value checked, ANDed), and False
    when they name different patients (nothing can match)."""
    named: dict[int, Patient] = {}
    for param in ("patient", "subject", "subject:Patient"):
        for value in search.values(param):
            who = _patient(db, user, value, param)
            assert who is not None
            named[who.id] = who
    if len(named) > 1:
        return None, False
    return next(iter(named.values()), None), True


OBSERVATION_PARAMS = frozenset({"patient", "subject", "subject:Patient", "code", "date", "_id"})
RESPONSE_PARAMS = frozenset({"patient", "subject", "subject:Patient", "_lastUpdated", "_id"})
_VITAL_CODES = {c[0] for c in (VITALS_PANEL_BP, HEART_RATE, SPO2, OXYGEN_SAT, RESP_RATE)}
Prefer = Annotated[
    str | None,
    Header(
        description="'handling=strict' (default: an unsupported parameter is a 400 "
        "OperationOutcome) or 'handling=lenient' (it is ignored and named in an "
        "OperationOutcome entry of the result)."
    ),
]
Count = Annotated[
    int | None, Query(alias="_count", ge=1, le=MAX_COUNT, description="Page size (default 100).")
]
Offset = Annotated[
    int | None,
    Query(alias="_offset", ge=0, le=MAX_OFFSET, description="Matches to skip (see the next link)."),
]
IdParam = Annotated[
    str | None, Query(alias="_id", description="Resource ids, comma-separated (OR).")
]
Subject = Annotated[
    str | None, Query(description="The patient as Patient/<id> (the same as patient).")
]


@router.get("/Observation", response_class=FhirResponse)
def search_observations(
    request: Request,
    user: ApiStaff,
    db: DbDep,
    patient: str | None = None,
    subject: Subject = None,
    code: str | None = None,
    date: Annotated[list[str] | None, Query()] = None,
    ids: IdParam = None,
    count: Count = None,
    offset: Offset = None,
    prefer: Prefer = None,
) -> FhirResponse:
    """Total-score, vital-sign and session scale (CADSS/MOAA-S) Observations of the clinic's
    patients: assessment totals, then vital signs, then scale totals, each by time and id;
    paged (``_count``, ``_offset``; the ``next`` link gives the next page)."""
    search, rtype = _search(request, OBSERVATION_PARAMS, prefer)
    who, possible = _who(db, user, search)
    bounds = _bounds(search.values("date"), "date")
    wanted = [t for value in search.values("code") for t in tokens(value)]
    instruments = _instruments_for(wanted)
    want_ids = id_values(search.values("_id"))
    score_ids, vital_ids, scale_ids = (
        numbered(want_ids, prefix) for prefix in ("score-", "vs-", "scale-")
    )
    sections: list[_Section] = []
    if possible and (not wanted or instruments) and score_ids != set():
        stmt = select(Assessment).where(Assessment.clinic_id == user.clinic_id)
        if who is not None:
            stmt = stmt.where(Assessment.patient_id == who.id)
        if wanted:
            stmt = stmt.where(Assessment.instrument_id.in_(instruments))
        if score_ids is not None:
            stmt = stmt.where(Assessment.id.in_(score_ids))
        for op, at in bounds:
            stmt = stmt.where(
                Assessment.completed_at >= at if op == "ge" else Assessment.completed_at < at
            )
        stmt = stmt.order_by(Assessment.completed_at, Assessment.id)
        sections.append(
            _Section(stmt, lambda row: [total_observation(assessment_record(row[0]))], True)
        )
    vital_wanted = not wanted or any(
        system in (None, LOINC) and c in _VITAL_CODES for system, c in wanted
    )
    if possible and vital_wanted and vital_ids != set():
        vstmt = (
            select(VitalSign, TreatmentSession.patient_id, TreatmentSession.dose_start)
            .join(TreatmentSession, TreatmentSession.id == VitalSign.session_id)
            .where(TreatmentSession.clinic_id == user.clinic_id)
        )
        if who is not None:
            vstmt = vstmt.where(TreatmentSession.patient_id == who.id)
        if vital_ids is not None:
            vstmt = vstmt.where(VitalSign.id.in_(vital_ids))
        for op, at in bounds:
            vstmt = vstmt.where(VitalSign.at >= at if op == "ge" else VitalSign.at < at)

        def vitals(row: Any) -> list[dict[str, Any]]:
            v, pid, dose_start = row
            return [
                obs
                for obs in vital_observations(vital_record(v, pid, dose_start is not None))
                if (not wanted or _code_matches(obs, wanted))
                and (want_ids is None or obs["id"] in want_ids)
            ]

        sections.append(_Section(vstmt.order_by(VitalSign.at, VitalSign.id), vitals, False))
    if possible and (not wanted or instruments) and scale_ids != set():
        sstmt = (
            select(ScaleScore, TreatmentSession.patient_id, TreatmentSession.dose_start)
            .join(TreatmentSession, TreatmentSession.id == ScaleScore.session_id)
            .where(TreatmentSession.clinic_id == user.clinic_id)
        )
        if who is not None:
            sstmt = sstmt.where(TreatmentSession.patient_id == who.id)
        if wanted:
            sstmt = sstmt.where(ScaleScore.instrument_id.in_(instruments))
        if scale_ids is not None:
            sstmt = sstmt.where(ScaleScore.id.in_(scale_ids))
        for op, at in bounds:
            sstmt = sstmt.where(ScaleScore.at >= at if op == "ge" else ScaleScore.at < at)
        sections.append(
            _Section(
                sstmt.order_by(ScaleScore.at, ScaleScore.id),
                lambda row: [scale_observation(scale_record(row[0], row[1], row[2] is not None))],
                True,
            )
        )
    found = _page(db, sections, search.offset, search.count)
    _audit(db, user, request, "search", "fhir.Observation", code or "", who.id if who else None,
           found[: search.count])  # fmt: skip
    return _answer(request, search, rtype, found)


@router.get("/QuestionnaireResponse", response_class=FhirResponse)
def search_responses(
    request: Request,
    user: ApiStaff,
    db: DbDep,
    patient: str | None = None,
    subject: Subject = None,
    last_updated: Annotated[list[str] | None, Query(alias="_lastUpdated")] = None,
    ids: IdParam = None,
    count: Count = None,
    offset: Offset = None,
    prefer: Prefer = None,
) -> FhirResponse:
    """QuestionnaireResponses (assessments with item answers) of the clinic's patients, by
    time stored and id; paged as Observations are."""
    search, rtype = _search(request, RESPONSE_PARAMS, prefer)
    who, possible = _who(db, user, search)
    bounds = _bounds(search.values("_lastUpdated"), "_lastUpdated")
    want_ids = id_values(search.values("_id"))
    row_ids = numbered(want_ids, "qr-")
    sections: list[_Section] = []
    if possible and row_ids != set():
        stmt = select(Assessment).where(Assessment.clinic_id == user.clinic_id)
        if who is not None:
            stmt = stmt.where(Assessment.patient_id == who.id)
        if row_ids is not None:
            stmt = stmt.where(Assessment.id.in_(row_ids))
        for op, at in bounds:
            stmt = stmt.where(
                Assessment.created_at >= at if op == "ge" else Assessment.created_at < at
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

        sections.append(
            _Section(stmt.order_by(Assessment.created_at, Assessment.id), response, False)
        )
    found = _page(db, sections, search.offset, search.count)
    _audit(db, user, request, "search", "fhir.QuestionnaireResponse", "", who.id if who else None,
           found[: search.count])  # fmt: skip
    return _answer(request, search, rtype, found)


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
    hazard = json_hazard(body)  # NaN/Infinity, NUL or deep nesting: refused before reading
    if hazard:
        raise BadRequest(hazard, "body")
    if body.get("status") != "completed":
        raise BadRequest("only completed responses are scored and stored", "status")
    subject = body.get("subject") or {}
    patient = _patient(
        db,
        user,
        str(subject.get("reference") or "") if isinstance(subject, dict) else "",
        "subject",
    )
    assert patient is not None
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
        Actor(user, "fhir", client_ip(request)),
        completed_at=when,
        idempotency_key=key,
        baseline_rule=settings.outcome_baseline,
    )
    resources = assessment_resources(assessment_record(row))
    return FhirResponse(resources[0], status_code=201)


def _issue(severity: str, code: str, note: EntryNote) -> dict[str, Any]:
    where = ["Bundle"] if note.index is None else [f"Bundle.entry[{note.index}]"]
    name = note.full_url or note.where()
    return {"severity": severity, "code": code, "diagnostics": f"{name}: {note.reason}",
            "expression": where}  # fmt: skip


def import_outcome(report: ImportReport) -> dict[str, Any]:
    """The import report as an OperationOutcome: a summary, then every skipped entry (by
    ``fullUrl`` and reason) and every warning."""
    summary = (
        f"imported {report.added} record(s) ({report.patients_created} patient(s) new, "
        f"{report.patients_matched} matched, {report.totals} total(s), {report.responses} "
        f"response(s), {report.diagnoses} diagnos(es)); already imported: "
        f"{report.already_imported}; skipped: {len(report.skipped_entries)}"
    )
    issues = [{"severity": "information", "code": "informational", "diagnostics": summary}]
    issues += [_issue("warning", "not-supported", n) for n in report.skipped_entries]
    issues += [
        {"severity": "warning", "code": "informational", "diagnostics": w} for w in report.warnings
    ]
    return {"resourceType": "OperationOutcome", "issue": issues}


@router.post("", response_class=FhirResponse)
def import_bundle_api(
    body: Annotated[dict[str, Any], Body()],
    request: Request,
    user: ApiStaff,
    db: DbDep,
) -> FhirResponse:
    """Import a ``transaction``, ``batch`` or ``collection`` Bundle into the caller's clinic,
    as ``ketacare fhir import`` does (docs/fhir.md, "Refused or skipped: one rule").

    200: an OperationOutcome with a summary and every skipped entry (``fullUrl``, reason).
    422: the bundle is refused and nothing is stored; one issue per refused entry.
    """
    try:
        report = import_bundle(
            db, user.clinic_id, body, "api", Actor(user, "fhir", client_ip(request))
        )
    except BundleError as exc:
        issues = [_issue("error", "invalid", n) for n in exc.problems]
        outcome = {"resourceType": "OperationOutcome", "issue": issues}
        return FhirResponse(outcome, status_code=422)
    return FhirResponse(import_outcome(report))
