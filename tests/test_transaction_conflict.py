"""A transaction PostgreSQL rolls back to end a deadlock is a 409 naming the conflict, never a
500 with a trace (two bookings of one patient at two sites at once can deadlock on the
bookings' exclusion constraints: each inserter waits for the other's uncommitted row)."""

from __future__ import annotations

import threading

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.exc import OperationalError

from ketacare.settings import Settings
from ketacare.web.app import create_app

pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


def _deadlock(engine: Engine) -> None:
    """Two transactions that lock two rows in opposite orders: PostgreSQL ends the deadlock
    by rolling one of them back; its error is raised here (the other commits)."""
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE IF NOT EXISTS _deadlock (id int PRIMARY KEY)"))
        conn.execute(text("INSERT INTO _deadlock VALUES (1), (2) ON CONFLICT DO NOTHING"))
    both = threading.Barrier(2)
    errors: list[OperationalError] = []

    lock = text("SELECT id FROM _deadlock WHERE id = :i FOR UPDATE")

    def one(first: int, second: int) -> None:
        try:
            with engine.begin() as conn:
                conn.execute(text("SET LOCAL deadlock_timeout = '50ms'"))
                conn.execute(lock, {"i": first})
                both.wait()
                conn.execute(lock, {"i": second})
        except OperationalError as exc:
            errors.append(exc)

    other = threading.Thread(target=one, args=(2, 1))
    other.start()
    one(1, 2)
    other.join(10)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE _deadlock"))
    assert len(errors) == 1
    raise errors[0]


def test_a_deadlock_victim_is_answered_409(settings: Settings, engine: Engine) -> None:
    app: FastAPI = create_app(settings)

    @app.get("/api/v1/_test/deadlock")
    def deadlock() -> None:
        _deadlock(engine)

    @app.get("/_test/deadlock")
    def deadlock_page() -> None:
        _deadlock(engine)

    @app.get("/api/v1/_test/other")
    def other() -> None:
        with engine.begin() as conn:  # query_canceled (57014): an OperationalError too
            conn.execute(text("SET LOCAL statement_timeout = '10ms'"))
            conn.execute(text("SELECT pg_sleep(1)"))

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.get("/api/v1/_test/deadlock")
        assert r.status_code == 409, r.text
        assert r.json() == {
            "detail": [
                {
                    "field": "",
                    "reason": "conflicts with a record stored at the same time; reload and "
                    "try again",
                }
            ]
        }
        page = client.get("/_test/deadlock")
        assert page.status_code == 409 and "try again" in page.text
        assert "Traceback" not in page.text
        # Any other operational error is still the server's fault.
        assert client.get("/api/v1/_test/other").status_code == 500
