"""Test-only: lift the append-only guards of the controlled-substance ledger (and of signed
clinical notes, migration 0019) to empty tables.

The application never deletes ledger rows (triggers of migration 0014 refuse it); the test
fixtures must, to start each test from empty tables.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text


@contextmanager
def guards_lifted(conn: Connection) -> Iterator[None]:
    """Within one transaction: PostgreSQL skips user triggers; SQLite drops and re-creates them."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        yield
        return
    rows = conn.execute(
        text(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' "
            "AND (name GLOB 'cs_*' OR name GLOB 'note_*')"  # note_*: signed clinical notes
        )
    ).all()
    for name, _ in rows:
        conn.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _, sql in rows:
        conn.execute(text(sql))
