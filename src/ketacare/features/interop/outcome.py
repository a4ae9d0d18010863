"""Errors under /fhir rendered as FHIR OperationOutcome (``application/fhir+json``)."""

from __future__ import annotations

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from ketacare.features._kit.errors import KetacareError, LoginRequired
from ketacare.fhir.server import FHIR_JSON, operation_outcome


def is_fhir(request: Request) -> bool:
    """True for requests to the FHIR API."""
    path = request.url.path
    return path == "/fhir" or path.startswith("/fhir/")


def fhir_error(exc: Exception) -> Response:
    """The OperationOutcome for any error the app's handlers see."""
    headers: dict[str, str] | None = None
    if isinstance(exc, RequestValidationError):
        status, issues = 422, []
        for err in exc.errors():
            loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path")]
            issues.append((".".join(loc), str(err.get("msg", "invalid"))))
        reason = "; ".join(f"{f}: {m}" if f else m for f, m in issues) or "invalid request"
        body = operation_outcome(status, reason, issues[0][0] if issues else "")
    elif isinstance(exc, KetacareError):
        status = exc.status_code
        body = operation_outcome(status, exc.reason, exc.field or "")
        if isinstance(exc, LoginRequired):
            headers = {"WWW-Authenticate": "Bearer"}
    elif isinstance(exc, StarletteHTTPException):
        status = exc.status_code
        body = operation_outcome(status, str(exc.detail))
        headers = dict(exc.headers) if exc.headers else None
    else:  # pragma: no cover - the app registers only the three kinds above
        status, body = 500, operation_outcome(500, "internal error")
    return JSONResponse(body, status_code=status, headers=headers, media_type=FHIR_JSON)
