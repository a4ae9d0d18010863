"""Error handlers: JSON for the API, HTML pages (or a login redirect) for everything else."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi import routing as fastapi_routing
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ketacare.features._kit.errors import KetacareError, LoginRequired, validation_details
from ketacare.features._kit.templating import render
from ketacare.features.auth.deps import api_desk_access, api_user, remember_viewer
from ketacare.features.interop.outcome import fhir_error, is_fhir
from ketacare.fhir.server import FHIR_JSON, operation_outcome


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/fhir"))


async def validation_error(request: Request, exc: Exception) -> Response:
    """422 naming each field and the reason."""
    assert isinstance(exc, RequestValidationError)
    if is_fhir(request):
        return fhir_error(exc)
    errors = validation_details(exc.errors())
    if _is_api(request):
        return JSONResponse({"detail": errors}, status_code=422)
    ctx = {"status": 422, "title": "Some input was not accepted", "errors": errors}
    return render(request, "error.html", ctx, status_code=422)


async def ketacare_error(request: Request, exc: Exception) -> Response:
    """A domain/service error with its status code."""
    assert isinstance(exc, KetacareError)
    if is_fhir(request):
        return fhir_error(exc)
    if _is_api(request):
        detail = [exc.detail()]
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, LoginRequired) else None
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)
    if isinstance(exc, LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    errors = [exc.detail()]
    titles = {403: "Not allowed", 404: "Not found", 429: "Too many requests"}
    ctx = {
        "status": exc.status_code,
        "title": titles.get(exc.status_code, "Request refused"),
        "errors": errors,
    }
    return render(request, "error.html", ctx, status_code=exc.status_code)


async def http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own errors (unknown route, wrong method) as JSON or a page."""
    assert isinstance(exc, StarletteHTTPException)
    if is_fhir(request):
        return fhir_error(exc)
    if _is_api(request) or request.url.path.startswith("/static/"):
        return JSONResponse(
            {"detail": [{"field": "", "reason": str(exc.detail)}]},
            status_code=exc.status_code,
            headers=exc.headers,
        )
    if getattr(request.state, "user", None) is None and "kc_session" in request.cookies:
        # No route ran (unknown path, wrong method): show the logged-in user's navigation.
        await anyio.to_thread.run_sync(remember_viewer, request)
    ctx = {"status": exc.status_code, "title": str(exc.detail), "errors": []}
    return render(request, "error.html", ctx, status_code=exc.status_code)


log = logging.getLogger("ketacare.web")


async def integrity_error(request: Request, exc: Exception) -> Response:
    """A write that a database constraint refused, not caught by its feature (e.g. a race the
    feature did not foresee): 409, logged by constraint name only (never the values)."""
    assert isinstance(exc, IntegrityError)
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or "unknown"
    log.warning("%s %s refused by constraint %s", request.method, request.url.path, constraint)
    return _conflict(request)


def _conflict(request: Request) -> Response:
    """409: the write met another stored at the same time; nothing of it was stored."""
    reason = "conflicts with a record stored at the same time; reload and try again"
    if is_fhir(request):
        return JSONResponse(operation_outcome(409, reason, ""), 409, media_type=FHIR_JSON)
    if _is_api(request):
        return JSONResponse({"detail": [{"field": "", "reason": reason}]}, status_code=409)
    ctx = {"status": 409, "title": "Conflict", "errors": [{"field": "", "reason": reason}]}
    return render(request, "error.html", ctx, status_code=409)


#: PostgreSQL's transaction conflicts: the server rolled one transaction back so that the
#: others could go on (deadlock_detected, serialization_failure). Nothing of it was stored.
CONFLICT_STATES = frozenset({"40P01", "40001"})


async def transaction_conflict(request: Request, exc: Exception) -> Response:
    """A transaction the database rolled back to end a deadlock (e.g. two bookings of one
    patient at two sites at once, each waiting for the other's exclusion check): 409 like a
    refused write, since nothing was stored; any other operational error stays a 500."""
    assert isinstance(exc, OperationalError)
    state = getattr(exc.orig, "sqlstate", None)
    if state not in CONFLICT_STATES:
        raise exc
    log.warning("%s %s rolled back by the database (%s)", request.method, request.url.path, state)
    return _conflict(request)


_ERROR_SCHEMAS: dict[str, dict[str, Any]] = {
    "ErrorDetail": {
        "title": "ErrorDetail",
        "type": "object",
        "required": ["field", "reason"],
        "properties": {
            "field": {"type": "string", "description": "The input named ('' for the request)."},
            "reason": {"type": "string", "description": "Why it was refused, in plain words."},
            "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
            "type": {"type": ["string", "null"]},
            "rule_id": {"type": "string"},
            "source": {"type": "string"},
        },
        "description": "One refused input. Validation errors add loc and type; refused "
        "clinical steps add the rule's rule_id and source.",
    },
    "ErrorResponse": {
        "title": "ErrorResponse",
        "type": "object",
        "required": ["detail"],
        "properties": {
            "detail": {"type": "array", "items": {"$ref": "#/components/schemas/ErrorDetail"}}
        },
        "description": "Every 4xx answer of the JSON API (/api/v1).",
    },
    "OperationOutcome": {
        "title": "OperationOutcome",
        "type": "object",
        "required": ["resourceType", "issue"],
        "properties": {
            "resourceType": {"const": "OperationOutcome"},
            "issue": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["severity", "code", "diagnostics"],
                    "properties": {
                        "severity": {"type": "string"},
                        "code": {"type": "string"},
                        "diagnostics": {"type": "string"},
                        "expression": {"type": "array", "items": {"type": "string"}},
                    },
                },
            },
        },
        "description": "Every 4xx answer of the FHIR API (/fhir), as application/fhir+json.",
    },
}

_ERROR_TEXT = {
    400: "A body that cannot be parsed, or (FHIR searches) an unsupported search parameter "
    "under Prefer: handling=strict.",
    401: "No valid bearer token.",
    403: "The token's role may not do this.",
    404: "Not found, or not in the caller's clinic.",
    409: "Conflicts with a stored record.",
    413: "Body larger than KETACARE_MAX_BODY_BYTES.",
    422: "Input refused; every problem names its field.",
    429: "Too many requests from this address.",
}


#: Dependencies that mean a bearer token is checked (now, or in the route's thread hop).
TOKEN_CHECKS: tuple[object, ...] = (api_user, api_desk_access)


def _dependency_calls(dependant: Dependant) -> Iterator[object]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _dependency_calls(dep)


def _api_routes(app: FastAPI) -> Iterator[tuple[str, set[str], APIRoute]]:
    """(path as in the OpenAPI document, methods, route) of every documented API route,
    routers included (FastAPI >= 0.16x keeps included routers as a unit: walk them as its own
    OpenAPI generator does)."""
    walk = getattr(fastapi_routing, "iter_route_contexts", None)
    contexts: Iterable[Any] = walk(app.routes) if walk is not None else app.routes
    for ctx in contexts:
        route = getattr(ctx, "original_route", ctx)
        if isinstance(route, APIRoute) and getattr(ctx, "include_in_schema", True):
            yield str(ctx.path_format), set(ctx.methods or ()), route


def error_statuses(route: APIRoute, path: str = "", methods: set[str] | None = None) -> list[int]:
    """The 4xx statuses a route can answer: 422 always (validation, NUL guard); 401 and 403
    behind a bearer token; 404 with a path parameter (or a FHIR search's patient); 413 and
    409 with a body; 429 for anonymous writes (per-address limits); 400 for FHIR searches."""
    codes = {422}
    path = path or route.path_format
    methods = route.methods or set() if methods is None else methods
    fhir = path.startswith("/fhir")
    token = any(call in TOKEN_CHECKS for call in _dependency_calls(route.dependant))
    in_path = "{" in path
    if token:
        codes |= {401, 403}
    if in_path or (fhir and token):
        codes.add(404)
    if methods & {"POST", "PUT", "PATCH"}:
        codes |= {400, 409, 413}  # 400: a body the JSON parser gives up on (deep nesting)
        if not token:
            codes.add(429)
    if fhir and "GET" in methods and not in_path and token:
        codes.add(400)
    return sorted(codes)


def document_errors(app: FastAPI, schema: dict[str, Any]) -> None:
    """Put the real error shapes in the OpenAPI document: the shared ``ErrorResponse`` (JSON
    API) or ``OperationOutcome`` (FHIR, application/fhir+json) for each 4xx the route can
    answer (issue 15 point 21: FastAPI documents its own 422 shape, which ketacare never
    sends, and no other 4xx)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(_ERROR_SCHEMAS)
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    for path, methods, route in _api_routes(app):
        fhir = path.startswith("/fhir")
        media, ref = (
            (FHIR_JSON, "OperationOutcome") if fhir else ("application/json", "ErrorResponse")
        )
        for method in methods:
            operation = schema["paths"].get(path, {}).get(method.lower())
            if operation is None:
                continue
            responses = operation.setdefault("responses", {})
            for code in error_statuses(route, path, methods):
                given = responses.get(str(code), {})
                content: dict[str, Any] = {
                    media: {"schema": {"$ref": f"#/components/schemas/{ref}"}}
                }
                if code == 413:  # answered by the middleware before any route, as plain text
                    content = {"text/plain": {"schema": {"type": "string"}}}
                responses[str(code)] = {
                    "description": given.get("description") or _ERROR_TEXT[code],
                    "content": content,
                }


def install(app: FastAPI) -> None:
    """Register the handlers on ``app`` and document their answers in its OpenAPI schema."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(KetacareError, ketacare_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(IntegrityError, integrity_error)
    app.add_exception_handler(OperationalError, transaction_conflict)
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document_errors(app, generate())
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
