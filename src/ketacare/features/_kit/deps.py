"""Typed FastAPI dependencies shared by every feature: settings and the unit of work."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Annotated, TypeVar

import anyio
import anyio.to_thread
from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette

from ketacare.db.base import utcnow
from ketacare.settings import Settings


async def get_settings(request: Request) -> Settings:
    """The app's settings (async: no threadpool hop for a plain attribute read)."""
    settings: Settings = request.app.state.settings
    return settings


# Commits run on their own thread limiter: if they queued for the default threadpool behind
# requests that wait for the SQLite write lock, the lock holder could never commit (deadlock).
_FINISH = anyio.CapacityLimiter(64)


def _commit(session: Session) -> None:
    try:
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _rollback(session: Session) -> None:
    try:
        session.rollback()
    finally:
        session.close()


async def get_db(request: Request) -> AsyncIterator[Session]:
    """One transaction per request: committed before the response is sent, else rolled back."""
    factory: sessionmaker[Session] = request.app.state.sessions
    session = factory()
    try:
        yield session
    except BaseException:
        await anyio.to_thread.run_sync(_rollback, session, limiter=_FINISH)
        raise
    await anyio.to_thread.run_sync(_commit, session, limiter=_FINISH)


def app_now(app: Starlette) -> datetime:
    """The current instant (UTC) from ``app``'s clock: ``app.state.clock`` (tests fix it),
    else the system clock."""
    clock: Callable[[], datetime] = getattr(app.state, "clock", utcnow)
    return clock()


def now_of(request: Request) -> datetime:
    """The current instant (UTC) from the app's clock: ``app.state.clock`` (tests fix it)."""
    return app_now(request.app)


async def get_now(request: Request) -> datetime:
    """The current instant (UTC) from the app's clock: ``app.state.clock`` (tests fix it).

    Every feature takes the time from here (routes) or from its caller (services take
    ``now``), never from ``datetime.now()`` directly, so that rules at their edges can be
    tested with a fixed clock.
    """
    return now_of(request)


T = TypeVar("T")


async def in_one_hop(request: Request, work: Callable[[Session, Settings, datetime], T]) -> T:
    """Run a live view's whole request on one worker thread: ``work(db, settings, now)``
    authenticates, reads, audits, and the transaction is committed there too.

    A sync route with sync dependencies makes three thread hops (the login's dependency, the
    endpoint, the commit in ``get_db``), and under load each one waits for the event loop
    twice. A live view (``Feature.live``, the chair board's poll) answers often and must
    answer fast, so it makes one (docs/architecture.md "Hot paths"; benchmarks/load.py
    ``--board-share``). The unit of work is the same as ``get_db``'s: committed before the
    response is sent, else rolled back.
    """
    factory: sessionmaker[Session] = request.app.state.sessions
    settings: Settings = request.app.state.settings
    now = now_of(request)

    def run() -> T:
        session = factory()
        try:
            result = work(session, settings, now)
        except BaseException:
            _rollback(session)
            raise
        _commit(session)
        return result

    return await anyio.to_thread.run_sync(run)


SettingsDep = Annotated[Settings, Depends(get_settings)]
#: The current instant (aware UTC datetime) of this request.
NowDep = Annotated[datetime, Depends(get_now)]
# scope="function": commit runs before the response goes out, so a 2xx means it is stored.
DbDep = Annotated[Session, Depends(get_db, scope="function")]


def client_ip(request: Request) -> str:
    """The peer address (a reverse proxy must be configured to pass the real one)."""
    return request.client.host if request.client else "unknown"
