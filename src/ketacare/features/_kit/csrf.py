"""CSRF protection for HTML forms: a double-submit cookie compared with a form field.

The ASGI middleware in ``ketacare.web.middleware`` issues the ``kc_csrf`` cookie and puts
its value in ``request.state.csrf_token``; :func:`verify_csrf` checks every unsafe request
of the page routers. The JSON API takes bearer tokens only (no cookies), so it needs none.
"""

from __future__ import annotations

import hmac

from fastapi import Request

from ketacare.features._kit.errors import CsrfFailed

CSRF_COOKIE = "kc_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def verify_csrf(request: Request) -> None:
    """Refuse an unsafe request whose form field or header does not match the cookie."""
    if request.method in SAFE_METHODS:
        return
    cookie = request.cookies.get(CSRF_COOKIE, "")
    sent = request.headers.get(CSRF_HEADER, "")
    if not sent:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD, "")
            sent = value if isinstance(value, str) else ""
    if not cookie or not sent or not hmac.compare_digest(cookie, sent):
        raise CsrfFailed()
