"""Engine and session factory for SQLite (WAL, foreign keys) and PostgreSQL (psycopg 3)."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import ExceptionContext, make_url
from sqlalchemy.orm import Session, sessionmaker


def normalise_url(url: str) -> str:
    """Use psycopg 3 for plain ``postgresql://`` URLs."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any, busy_timeout_ms: int = 5000) -> None:
    # Let SQLAlchemy, not the driver, issue BEGIN (see _sqlite_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # Take the write lock at BEGIN: a deferred transaction that later writes fails at once
    # with "database is locked" when another writer got there first, instead of waiting.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, dedicated: bool = False) -> Engine:
    """Create an engine; on SQLite create the parent directory and set the pragmas.

    ``dedicated``: one connection of its own that never waits for a lock (SQLite
    ``busy_timeout=0``), for a caller on the event loop that must retry instead of blocking.
    """
    url = normalise_url(url)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            db_file = Path(parsed.database)
            db_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Created private (SQLite gives its -wal and -shm files the same mode).
            with contextlib.suppress(FileExistsError):
                os.close(os.open(db_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False},
            hide_parameters=True,
            **({"pool_size": 1, "max_overflow": 0} if dedicated else {}),
        )
        busy = 0 if dedicated else 5000
        event.listen(engine, "connect", lambda c, r: _sqlite_pragmas(c, r, busy))
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    # hide_parameters: bound values (patient data) never reach logs or error messages.
    # Up to 40 connections: as many as the default threadpool has threads, so a request never
    # waits for a connection that another request can only give back after its own commit.
    pool = (
        {"pool_size": 1, "max_overflow": 0} if dedicated else {"pool_size": 10, "max_overflow": 30}
    )
    engine = create_engine(url, pool_pre_ping=True, hide_parameters=True, **pool)
    event.listen(engine, "handle_error", scrub_error_detail)
    return engine


def scrub_error_detail(context: ExceptionContext) -> None:
    """Drop PostgreSQL's DETAIL/HINT lines from driver errors before anything formats them.

    A unique violation's DETAIL quotes the duplicate value (``Key (clinic_id, mrn)=(1, X)``):
    patient identifiers in a log or an error message. The primary message (with the
    constraint's name) stays; ``hide_parameters`` already keeps bound values out.
    """
    orig = context.original_exception
    diag = getattr(orig, "diag", None)
    primary = getattr(diag, "message_primary", None)
    if primary and isinstance(orig, Exception) and "\n" in str(orig):
        orig.args = (primary,)


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    """One engine per URL per process."""
    return make_engine(url)


class KetacareSession(Session):
    """ketacare's session class. Session listeners (the audit append at commit,
    ``features/audit/service.py``) are registered on this class, not on SQLAlchemy's ``Session``:
    they fire for ketacare's units of work only, never for another library's sessions in the
    same process."""


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """A factory of ketacare sessions that keep loaded attributes after commit."""
    maker: sessionmaker[Session] = sessionmaker(
        bind=engine, class_=KetacareSession, expire_on_commit=False, autoflush=False
    )
    return maker


@contextmanager
def unit_of_work(engine: Engine) -> Iterator[Session]:
    """A transaction owned by the caller (a request, a job or a CLI command)."""
    with session_factory(engine)() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
