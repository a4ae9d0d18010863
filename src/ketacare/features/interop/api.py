"""The FHIR R4 API at /fhir: bearer API tokens of staff, scoped to the token owner's clinic.

Every read, search and write is audited with channel ``fhir``. JSON is sent as
``application/fhir+json``; errors are OperationOutcomes (``features/interop/outcome.py``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse

import ketacare
from ketacare.domain.errors import InvalidAnswer
from ketacare.features._kit.deps import DbDep, SettingsDep
from ketacare.features._kit.errors import BadRequest, KetacareError
from ketacare.features._kit.params import RowId
from ketacare.features.auth.deps import FhirActor
from ketacare.features.interop import service
from ketacare.features.interop.importer import ImportReport
from ketacare.fhir.export import searchset
from ketacare.fhir.reader import BundleError, EntryNote
from ketacare.fhir.search import (
    MAX_COUNT,
    MAX_OFFSET,
    SearchRequest,
    UnknownParameter,
    page_url,
    read_search,
)
from ketacare.fhir.server import FHIR_JSON, capability_statement

router = APIRouter(prefix="/fhir", tags=["fhir"])


class FhirResponse(JSONResponse):
    """JSON with the FHIR media type."""

    media_type = FHIR_JSON


def base_url(request: Request) -> str:
    """This server's FHIR base URL, as the client reached it."""
    return str(request.base_url).rstrip("/") + "/fhir"


class UnsupportedSearch(KetacareError):
    """An unsupported search parameter under ``Prefer: handling=strict`` (FHIR: 400)."""

    status_code = 400


@router.get("/metadata", response_class=FhirResponse)
def metadata(request: Request) -> FhirResponse:
    """CapabilityStatement: what this server supports (no token needed)."""
    return FhirResponse(capability_statement(base_url(request), ketacare.__version__))


@router.get("/Patient/{patient_id}", response_class=FhirResponse)
def read_patient(patient_id: RowId, actor: FhirActor, db: DbDep) -> FhirResponse:
    """One patient of the caller's clinic."""
    return FhirResponse(service.read_patient(db, actor, patient_id))


@router.get("/Questionnaire/{questionnaire_id}", response_class=FhirResponse)
def read_questionnaire(questionnaire_id: str, actor: FhirActor, db: DbDep) -> FhirResponse:
    """ketacare's Questionnaire of a built-in instrument (id = instrument id, e.g. phq9)."""
    return FhirResponse(service.read_questionnaire(db, actor, questionnaire_id))


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


OBSERVATION_PARAMS = frozenset({"patient", "subject", "subject:Patient", "code", "date", "_id"})
RESPONSE_PARAMS = frozenset({"patient", "subject", "subject:Patient", "_lastUpdated", "_id"})
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
    actor: FhirActor,
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
    found = service.search_observations(db, actor, search, code or "")
    return _answer(request, search, rtype, found)


@router.get("/QuestionnaireResponse", response_class=FhirResponse)
def search_responses(
    request: Request,
    actor: FhirActor,
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
    return _answer(request, search, rtype, service.search_responses(db, actor, search))


@router.post("/QuestionnaireResponse", response_class=FhirResponse, status_code=201)
def create_response(
    body: Annotated[dict[str, Any], Body()],
    actor: FhirActor,
    db: DbDep,
    settings: SettingsDep,
) -> FhirResponse:
    """Score and store a completed response (alerts raised as for any assessment).

    ketacare recomputes the total; a total carried by the response is never trusted, and a
    different value is reported in the returned OperationOutcome-free resource as ketacare's.
    """
    resource = service.create_response(db, actor, body, settings.outcome_baseline)
    return FhirResponse(resource, status_code=201)


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
    actor: FhirActor,
    db: DbDep,
) -> FhirResponse:
    """Import a ``transaction``, ``batch`` or ``collection`` Bundle into the caller's clinic,
    as ``ketacare fhir import`` does (docs/fhir.md, "Refused or skipped: one rule").

    200: an OperationOutcome with a summary and every skipped entry (``fullUrl``, reason).
    422: the bundle is refused and nothing is stored; one issue per refused entry.
    """
    try:
        report = service.import_into_clinic(db, actor, body)
    except BundleError as exc:
        issues = [_issue("error", "invalid", n) for n in exc.problems]
        outcome = {"resourceType": "OperationOutcome", "issue": issues}
        return FhirResponse(outcome, status_code=422)
    return FhirResponse(import_outcome(report))
