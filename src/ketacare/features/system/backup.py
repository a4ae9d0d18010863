"""Consistent online backups and restores into an empty database.

SQLite: the SQLite online backup API (a consistent snapshot while the app keeps running).
PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot transaction) and
``pg_restore``; the PostgreSQL client tools must be installed (Debian: postgresql-client) and
of a major version at least the server's.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from contextlib import closing
from pathlib import Path

from sqlalchemy import Engine, inspect
from sqlalchemy.engine import URL, make_url

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """A backup or restore was refused or failed; the message says why."""


def _libpq_url(engine: Engine) -> str:
    """The connection URL without its password (``ps`` shows a command line to every user)."""
    u = engine.url
    url = URL.create("postgresql", u.username, None, u.host, u.port, u.database, u.query)
    return url.render_as_string(hide_password=False)


def _libpq_env(engine: Engine) -> dict[str, str]:
    """The environment of pg_dump/pg_restore: the password, if any, as PGPASSWORD."""
    env = dict(os.environ)
    if engine.url.password:
        env["PGPASSWORD"] = str(engine.url.password)
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} not found; install the PostgreSQL client tools")
    return path


def backup(engine: Engine, out: Path) -> None:
    """Write a consistent snapshot of the database to ``out`` (overwrites nothing)."""
    if out.exists():
        raise BackupError(f"{out} already exists")
    out.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:  # owner-only before any byte is written (the tools keep an existing file's mode)
        os.close(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        raise BackupError(f"{out} already exists") from None
    if engine.dialect.name == "sqlite":
        source = make_url(str(engine.url)).database or ""
        with sqlite3.connect(source) as src, sqlite3.connect(out) as dst:
            src.backup(dst)
        dst.close()
        return
    result = subprocess.run(
        [
            _tool("pg_dump"),
            "--format=custom",
            "--no-owner",
            "--file",
            str(out),
            "--dbname",
            _libpq_url(engine),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=_libpq_env(engine),
    )
    if result.returncode != 0:
        out.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()[:500]}")


def _restore_sqlite(source: Path, target: str) -> None:
    """Check the backup (read-only, ``PRAGMA quick_check``) and copy it into ``target``."""
    try:
        with closing(sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)) as src:
            problems = [r[0] for r in src.execute("PRAGMA quick_check").fetchall()]
            if problems != ["ok"]:
                raise BackupError(f"{source} is damaged or truncated: {problems[0]}")
            with closing(sqlite3.connect(target)) as dst:
                src.backup(dst)
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{source} is damaged or truncated ({exc})") from None


def restore(engine: Engine, source: Path) -> None:
    """Load a backup into the database of ``engine``, which must be empty."""
    if not source.is_file():
        raise BackupError(f"{source} is not a file")
    sqlite = engine.dialect.name == "sqlite"
    target = (make_url(str(engine.url)).database or "") if sqlite else ""
    # An empty file is what opening the engine created (make_engine creates it 0600): it is
    # removed again when the restore fails, like a file the restore itself made.
    existed = bool(target) and Path(target).exists() and Path(target).stat().st_size > 0
    if inspect(engine).get_table_names():
        raise BackupError("the target database is not empty; restore only into a new database")
    head = source.read_bytes()[:16]
    if sqlite:
        engine.dispose()
        try:
            if not head.startswith(SQLITE_MAGIC):
                raise BackupError(f"{source} is not a SQLite backup")
            _restore_sqlite(source, target)
        except BaseException:
            if not existed:  # nothing left behind: not even the empty file inspect() created
                for suffix in ("", "-wal", "-shm", "-journal"):
                    Path(target + suffix).unlink(missing_ok=True)
            raise
        return
    if not head.startswith(PGDUMP_MAGIC):
        raise BackupError(f"{source} is not a pg_dump custom-format backup")
    result = subprocess.run(
        [
            _tool("pg_restore"),
            "--no-owner",
            "--exit-on-error",
            "--single-transaction",
            "--dbname",
            _libpq_url(engine),
            str(source),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=_libpq_env(engine),
    )
    if result.returncode != 0:
        raise BackupError(f"pg_restore failed: {result.stderr.strip()[:500]}")
