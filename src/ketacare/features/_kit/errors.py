"""Errors with an HTTP status, raised by services and routes; rendered as JSON or HTML."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

_REQUEST_PARTS = ("body", "query", "path", "header", "cookie")


def field_name(loc: Iterable[object]) -> str:
    """``("body", "phq9", 3)`` -> ``"phq9[3]"``; the request part is dropped."""
    out = ""
    for part in loc:
        if part in _REQUEST_PARTS:
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def validation_details(errors: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Pydantic/FastAPI errors as ``{"field", "reason", "loc", "type"}`` (list items 1-based)."""
    details = []
    for err in errors:
        loc = list(err.get("loc", ()))
        reason = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        if loc and isinstance(loc[-1], int):
            reason = f"item {loc[-1] + 1}: {reason}"
        details.append(
            {"field": field_name(loc), "reason": reason, "loc": loc, "type": err.get("type")}
        )
    return details


class KetacareError(Exception):
    """Base class: ``status_code``, a ``field`` (or None) and a plain ``reason``."""

    status_code = 400

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.reason = reason
        self.field = field

    def detail(self) -> dict[str, str]:
        """The refusal as one error of a form or of the API's ``detail`` list."""
        return {"field": self.field or "", "reason": self.reason}


class BadRequest(KetacareError):
    """The request is well-formed but not acceptable."""

    status_code = 422


class NotFound(KetacareError):
    """Not there, or not in the caller's clinic (never reveal which)."""

    status_code = 404

    def __init__(self, reason: str = "not found", field: str | None = None) -> None:
        super().__init__(reason, field)


class Forbidden(KetacareError):
    """Authenticated, but the role may not do this."""

    status_code = 403

    def __init__(self, reason: str = "your role may not do this", field: str | None = None):
        super().__init__(reason, field)


class LoginRequired(KetacareError):
    """No valid session or token."""

    status_code = 401

    def __init__(self, reason: str = "login required", field: str | None = None) -> None:
        super().__init__(reason, field)


class CsrfFailed(KetacareError):
    """The form's CSRF token is missing or does not match."""

    status_code = 403

    def __init__(self) -> None:
        super().__init__(
            "form expired or was not sent from this site; reload and try again", "csrf_token"
        )


class RateLimited(KetacareError):
    """Too many requests from this client for now."""

    status_code = 429

    def __init__(self, reason: str = "too many requests; try again later") -> None:
        super().__init__(reason)
