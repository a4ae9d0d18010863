"""ASGI fast path for ``POST /api/v1/screenings`` (see ``submit.py`` for why)."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from ketacare.features.screening.submit import submit

PATH = "/api/v1/screenings"


class ScreeningFastPath:
    """Answer ``POST /api/v1/screenings`` directly; pass everything else on."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        key = None
        for name, value in scope.get("headers", ()):
            if name == b"idempotency-key":
                key = value.decode("latin-1")
        client = scope.get("client")
        state = scope["app"].state
        status, body = await submit(
            state.settings, state.screening_writer, b"".join(chunks), key,
            client[0] if client else "unknown",
        )  # fmt: skip
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
