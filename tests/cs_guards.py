"""Test-only: lift the append-only guards of the controlled-substance ledger (and of signed
clinical notes, migration 0019) to empty tables.

The application never deletes ledger rows (triggers of migration 0014 refuse it); the test
fixtures must, to start each test from empty tables.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, text


@contextmanager
def guards_lifted(conn: Connection, tables: Iterable[str] | None = None) -> Iterator[None]:
    """Within one transaction: PostgreSQL skips user triggers; SQLite drops and re-creates them
    (only those on ``tables``, when given)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        yield
        return
    rows = conn.execute(
        text(
            "SELECT name, sql, tbl_name FROM sqlite_master WHERE type = 'trigger' "
            "AND (name GLOB 'cs_*' OR name GLOB 'note_*')"  # note_*: signed clinical notes
        )
    ).all()
    if tables is not None:
        wanted = set(tables)
        rows = [row for row in rows if row.tbl_name in wanted]
    for name, _, _ in rows:
        conn.execute(text(f'DROP TRIGGER "{name}"'))
    yield
    for _, sql, _ in rows:
        conn.execute(text(sql))
