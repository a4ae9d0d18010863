"""Admission: a worker works on at most ``worker_concurrency`` requests at once (issue 15.2b)."""

from __future__ import annotations

import asyncio
from typing import Any

from ketacare.settings import Settings
from ketacare.web.app import create_app
from ketacare.web.middleware import AdmissionLimit


def _run(limit: int, paths: list[str]) -> int:
    """Send every path at once through AdmissionLimit; the peak number inside the app."""
    inside = peak = 0

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        await asyncio.sleep(0.02)
        inside -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    gate = AdmissionLimit(app, limit)

    async def one(path: str) -> None:
        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: Any) -> None:
            pass

        await gate({"type": "http", "path": path}, receive, send)

    async def main() -> None:
        await asyncio.gather(*(one(p) for p in paths))

    asyncio.run(main())
    return peak


def test_at_most_limit_requests_are_inside_at_once() -> None:
    assert _run(2, ["/api/v1/screenings"] * 10) == 2
    assert _run(6, ["/patients"] * 20) == 6


def test_health_checks_are_never_held_back() -> None:
    assert _run(1, ["/healthz"] * 5) == 5


def test_the_app_admits_worker_concurrency_requests(settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"worker_concurrency": 3}))
    found = [m for m in app.user_middleware if getattr(m, "cls", None) is AdmissionLimit]
    assert len(found) == 1 and found[0].kwargs == {"limit": 3}
    assert Settings.model_fields["worker_concurrency"].default == 6
