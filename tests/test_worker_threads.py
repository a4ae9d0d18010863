"""The app runs blocking work on ``settings.worker_threads`` threads (issue 15.2b)."""

from __future__ import annotations

import anyio.to_thread
from fastapi.testclient import TestClient

from ketacare.settings import Settings
from ketacare.web.app import create_app


def _tokens() -> float:
    return anyio.to_thread.current_default_thread_limiter().total_tokens


def test_the_thread_limit_follows_the_setting(settings: Settings) -> None:
    for threads in (6, 3):
        app = create_app(settings.model_copy(update={"worker_threads": threads}))
        with TestClient(app) as client:
            assert client.portal is not None
            assert client.portal.call(_tokens) == threads
            assert client.get("/healthz").status_code == 200


def test_the_default_is_six() -> None:
    assert Settings.model_fields["worker_threads"].default == 6
