"""Pure ASGI middleware: body-size limit, security headers, the CSRF cookie, admission."""

from __future__ import annotations

import asyncio
import json
import re
import secrets
import weakref
from html import escape
from http.cookies import SimpleCookie

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ketacare.features._kit.csrf import CSRF_COOKIE
from ketacare.fhir.server import FHIR_JSON, operation_outcome
from ketacare.web import nul

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


class TooLarge(Exception):
    """The request body is larger than allowed."""


class SecurityMiddleware:
    """Refuse oversized bodies (413), add security headers, issue the CSRF cookie on pages."""

    def __init__(self, app: ASGIApp, max_body_bytes: int, secure_cookies: bool) -> None:
        self.app = app
        self.max_body = max_body_bytes
        self.secure = secure_cookies

    def headers(self, path: str) -> list[tuple[bytes, bytes]]:
        """The security headers of every response to ``path`` (also the middleware's own)."""
        extra = [
            (b"x-content-type-options", b"nosniff"),
            (b"x-frame-options", b"DENY"),
            (b"referrer-policy", b"same-origin"),
            (b"content-security-policy", CSP.encode()),
        ]
        if self.secure:
            extra.append((b"strict-transport-security", b"max-age=31536000"))
        if not path.startswith("/static/"):
            # Pages, the JSON API and FHIR carry patient data: never keep them in a cache.
            extra.append((b"cache-control", b"no-store"))
        return extra

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            await _plain(send, 413, b"request body too large", self.headers(path))
            return
        where = "path" if "\x00" in path else nul.in_query(scope.get("query_string", b""))
        if where is not None:
            await _nul_response(
                send,
                where,
                self.headers(path),
                html=not path.startswith(("/api/", "/fhir")),
                fhir=is_fhir_path(path),
            )
            return
        raw_type = headers.get(b"content-type", b"").decode("latin-1")
        content_type = raw_type.lower()
        check_body = any(k in content_type for k in ("json", "x-www-form-urlencoded", "multipart/"))
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
        if check_body:
            # Read the (small, JSON or form) body first, so that a NUL is refused before the
            # app sees it, then hand the same bytes on.
            chunks: list[bytes] = []
            while True:
                message = await receive()
                if message["type"] != "http.request":
                    break
                chunks.append(message.get("body", b""))
                received += len(chunks[-1])
                if received > self.max_body:
                    await _plain(send, 413, b"request body too large", self.headers(path))
                    return
                if not message.get("more_body", False):
                    break
            body = b"".join(chunks)
            # The multipart boundary is case-sensitive: parse with the header as sent.
            field = nul.in_body(body, raw_type if "multipart/" in content_type else content_type)
            if field is not None:
                await _nul_response(
                    send, field, self.headers(path), html=is_page, fhir=is_fhir_path(path)
                )
                return
            replayed = False

            async def replay_receive() -> Message:
                nonlocal replayed
                if not replayed:
                    replayed = True
                    return {"type": "http.request", "body": body, "more_body": False}
                return await receive()

            downstream_receive: Receive = replay_receive
        else:

            async def limited_receive() -> Message:
                nonlocal received
                message = await receive()
                if message["type"] == "http.request":
                    received += len(message.get("body", b""))
                    if received > self.max_body:
                        raise TooLarge()
                return message

            downstream_receive = limited_receive

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = self.headers(path)
                if new_csrf:
                    flags = "; Secure" if self.secure else ""
                    value = f"{CSRF_COOKIE}={new_csrf}; Path=/; SameSite=Lax; HttpOnly{flags}"
                    extra.append((b"set-cookie", value.encode()))
                message["headers"] = list(message.get("headers", [])) + extra
            await send(message)

        try:
            await self.app(scope, downstream_receive, send_with_headers)
        except TooLarge:
            await _plain(send, 413, b"request body too large", self.headers(path))


Headers = list[tuple[bytes, bytes]]


def is_fhir_path(path: str) -> bool:
    """The FHIR API answers its errors as OperationOutcomes."""
    return path == "/fhir" or path.startswith("/fhir/")


async def _nul_response(
    send: Send, field: str, headers: Headers, html: bool = False, fhir: bool = False
) -> None:
    if fhir:
        outcome = operation_outcome(422, nul.REASON, field)
        body, kind = json.dumps(outcome).encode(), FHIR_JSON.encode()
    elif html:
        text = "<!doctype html><title>Input not accepted</title><h1>Input not accepted</h1>"
        text += f"<p>{escape(field)}: {nul.REASON}. Go back and check what you typed.</p>"
        body, kind = text.encode(), b"text/html; charset=utf-8"
    else:
        detail = {"detail": [{"field": field, "reason": nul.REASON}]}
        body, kind = json.dumps(detail).encode(), b"application/json"
    kind_header = [(b"content-type", kind)]
    await send({"type": "http.response.start", "status": 422, "headers": kind_header + headers})
    await send({"type": "http.response.body", "body": body})


async def _plain(send: Send, status: int, body: bytes, headers: Headers) -> None:
    kind = [(b"content-type", b"text/plain; charset=utf-8")]
    await send({"type": "http.response.start", "status": status, "headers": kind + headers})
    await send({"type": "http.response.body", "body": body})


class AdmissionLimit:
    """Let at most ``limit`` requests per worker process work at once; the rest wait here.

    A waiting request has done nothing yet (no database connection, no lock, no thread), so
    the ones admitted always find a free thread and can finish; they never wait for a thread
    held by a request that waits for their lock. Without it, a burst starts every request at
    once: their threads compete with the event loop for the GIL and queue on the audit
    chain's head lock, and the worker falls seconds behind (issue 15.2b; benchmarks/README.md).
    Limiting the thread pool instead would deadlock: a request that holds a lock between two
    thread hops could wait forever for a thread held by a request waiting for that lock.
    ``/healthz`` is never held back.

    Live views (``live``: path regular expressions that features declare, the chair board's
    poll) have a lane of their own, ``live_limit`` requests wide: they never wait behind the
    queue of the rest, only behind each other (issue 17: the board's p99 under the load mix).
    ``live_limit=0`` sends them through the common gate.
    """

    def __init__(
        self, app: ASGIApp, limit: int, live: tuple[str, ...] = (), live_limit: int = 0
    ) -> None:
        self.app = app
        self.limit = limit
        self.live_limit = live_limit
        self._live = re.compile("|".join(f"(?:{p})" for p in live)) if live else None
        # One semaphore per event loop and lane (tests run an app in several loops).
        self._gates: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, tuple[asyncio.Semaphore, asyncio.Semaphore]
        ] = weakref.WeakKeyDictionary()

    def _is_live(self, path: str) -> bool:
        return self.live_limit > 0 and self._live is not None and bool(self._live.fullmatch(path))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] == "/healthz":
            await self.app(scope, receive, send)
            return
        loop = asyncio.get_running_loop()
        gates = self._gates.get(loop)
        if gates is None:
            gates = self._gates[loop] = (
                asyncio.Semaphore(self.limit),
                asyncio.Semaphore(max(self.live_limit, 1)),
            )
        async with gates[1] if self._is_live(scope["path"]) else gates[0]:
            await self.app(scope, receive, send)
