"""Test-only: empty the tables after a test, lifting the append-only guards of the
controlled-substance ledger (and of signed clinical notes, migration 0019) to do it.

The application never deletes ledger rows (triggers of migration 0014 refuse it); the test
fixtures must, to start each test from empty tables.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine, MetaData, TextClause, text


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


def empty_tables(engine: Engine, metadata: MetaData) -> None:
    """Delete every row of ``metadata``'s tables, in one transaction.

    One query finds the tables that hold rows, and only those are emptied (children first),
    with only their guards lifted: a DELETE sent to each of the 67 tables cost some 10 ms of
    CPU a test, and some 1,600 tests empty them (``benchmarks/suite_teardown.py``)."""
    with engine.begin() as conn:
        tables = list(reversed(metadata.sorted_tables))
        probe = _occupied_probe(tuple(table.name for table in tables))
        full = {row[0] for row in conn.execute(probe)}
        occupied = [table for i, table in enumerate(tables) if i in full]
        with guards_lifted(conn, [table.name for table in occupied]):
            for table in occupied:
                conn.execute(table.delete())


@functools.cache
def _occupied_probe(names: tuple[str, ...]) -> TextClause:
    """``SELECT i`` for each table ``names[i]`` that has a row (SQLite and PostgreSQL)."""
    return text(
        " UNION ALL ".join(
            f'SELECT {i} WHERE EXISTS (SELECT 1 FROM "{name}")' for i, name in enumerate(names)
        )
    )
