"""Errors with an HTTP status, raised by services and routes; rendered as JSON or HTML."""

from __future__ import annotations


class KetacareError(Exception):
    """Base class: ``status_code``, a ``field`` (or None) and a plain ``reason``."""

    status_code = 400

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(f"{field}: {reason}" if field else reason)
        self.reason = reason
        self.field = field


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


class Unavailable(KetacareError):
    """A dependency (the database) is down; nothing was stored."""

    status_code = 503
