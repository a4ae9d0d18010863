"""Error handlers: JSON for the API, HTML pages (or a login redirect) for everything else."""

from __future__ import annotations

import logging
from urllib.parse import quote

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ketacare.features._kit.errors import KetacareError, LoginRequired, validation_details
from ketacare.features._kit.templating import render
from ketacare.features.auth.deps import remember_viewer
from ketacare.features.interop.outcome import fhir_error, is_fhir


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
        detail = [{"field": exc.field or "", "reason": exc.reason}]
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, LoginRequired) else None
        return JSONResponse({"detail": detail}, status_code=exc.status_code, headers=headers)
    if isinstance(exc, LoginRequired):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    errors = [{"field": exc.field or "", "reason": exc.reason}]
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
    reason = "conflicts with a record stored at the same time; reload and try again"
    if is_fhir(request) or _is_api(request):
        return JSONResponse({"detail": [{"field": "", "reason": reason}]}, status_code=409)
    ctx = {"status": 409, "title": "Conflict", "errors": [{"field": "", "reason": reason}]}
    return render(request, "error.html", ctx, status_code=409)


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(KetacareError, ketacare_error)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(IntegrityError, integrity_error)
