"""Admission: a worker works on at most ``worker_concurrency`` requests at once (issue 15.2b)."""

from __future__ import annotations

import asyncio
from typing import Any

from ketacare.settings import Settings
from ketacare.web.app import create_app
from ketacare.web.middleware import AdmissionLimit

LIVE = (r"/scheduling/sites/[0-9]+/board\.json",)


def _run(limit: int, paths: list[str], live_limit: int = 0, order: list[str] | None = None) -> int:
    """Send every path at once through AdmissionLimit; the peak number inside the app
    (``order`` gets the paths in the order they finish)."""
    inside = peak = 0

    async def app(scope: Any, receive: Any, send: Any) -> None:
        nonlocal inside, peak
        inside += 1
        peak = max(peak, inside)
        await asyncio.sleep(0.02)
        inside -= 1
        if order is not None:
            order.append(scope["path"])
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    gate = AdmissionLimit(app, limit, live=LIVE, live_limit=live_limit)

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


def test_live_views_have_a_lane_of_their_own() -> None:
    """Ten chart reads queue two at a time; a chair-board poll sent last is answered in the
    first round, not after the queue (issue 17), and its lane is ``live_limit`` wide."""
    order: list[str] = []
    paths = ["/patients"] * 10 + ["/scheduling/sites/3/board.json"]
    assert _run(2, paths, live_limit=1, order=order) == 3
    assert order.index("/scheduling/sites/3/board.json") <= 2
    # Only the whole path matches: a longer path is not a live view.
    order.clear()
    _run(2, ["/patients"] * 10 + ["/scheduling/sites/3/board.json/x"], 1, order)
    assert order.index("/scheduling/sites/3/board.json/x") >= 8
    # Two lanes of one: at most one live view and one other at once.
    assert _run(1, ["/scheduling/sites/1/board.json"] * 4 + ["/patients"] * 4, 1) == 2


def test_live_limit_zero_sends_live_views_through_the_common_gate() -> None:
    order: list[str] = []
    paths = ["/patients"] * 10 + ["/scheduling/sites/3/board.json"]
    assert _run(2, paths, live_limit=0, order=order) == 2
    assert order.index("/scheduling/sites/3/board.json") >= 8


def test_the_app_admits_worker_concurrency_requests(settings: Settings) -> None:
    app = create_app(
        settings.model_copy(update={"worker_concurrency": 3, "worker_live_concurrency": 1})
    )
    found = [m for m in app.user_middleware if getattr(m, "cls", None) is AdmissionLimit]
    assert len(found) == 1
    kwargs = found[0].kwargs
    assert kwargs["limit"] == 3 and kwargs["live_limit"] == 1
    # The chair board's poll and its API twin are live views.
    gate = AdmissionLimit(None, 3, kwargs["live"], 1)  # type: ignore[arg-type]
    assert gate._is_live("/scheduling/sites/12/board.json")
    assert gate._is_live("/api/v1/scheduling/sites/12/board")
    assert not gate._is_live("/scheduling/sites/12/board")
    assert Settings.model_fields["worker_concurrency"].default == 6
    assert Settings.model_fields["worker_live_concurrency"].default == 2
