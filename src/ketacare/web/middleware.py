"""Pure ASGI middleware: body-size limit, security headers and the CSRF cookie."""

from __future__ import annotations

import secrets
from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ketacare.features._kit.csrf import CSRF_COOKIE

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI at /docs loads its assets from a CDN; only that page is allowed to.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: "
    "https://fastapi.tiangolo.com; frame-ancestors 'none'"
)


class TooLarge(Exception):
    """The request body is larger than allowed."""


class SecurityMiddleware:
    """Refuse oversized bodies (413), add security headers, issue the CSRF cookie on pages."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, secure_cookies: bool) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.secure = secure_cookies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _plain(send, 413, b"request body too large")
            return
        path: str = scope["path"]
        is_page = not path.startswith(("/api/", "/fhir", "/healthz", "/readyz", "/static/"))
        new_csrf = None
        if is_page:
            cookie = SimpleCookie()
            cookie.load(headers.get(b"cookie", b"").decode("latin-1"))
            token = cookie[CSRF_COOKIE].value if CSRF_COOKIE in cookie else ""
            if not token:
                token = new_csrf = secrets.token_urlsafe(32)
            scope.setdefault("state", {})["csrf_token"] = token
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise TooLarge()
            return message

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"content-security-policy", (DOCS_CSP if path == "/docs" else CSP).encode()),
                ]
                if self.secure:
                    extra.append((b"strict-transport-security", b"max-age=31536000"))
                if is_page:
                    extra.append((b"cache-control", b"no-store"))
                if new_csrf:
                    flags = "; Secure" if self.secure else ""
                    value = f"{CSRF_COOKIE}={new_csrf}; Path=/; SameSite=Lax; HttpOnly{flags}"
                    extra.append((b"set-cookie", value.encode()))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except TooLarge:
            await _plain(send, 413, b"request body too large")


async def _plain(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": body})
