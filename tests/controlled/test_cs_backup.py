"""A backup with ledger rows restores exactly: the append-only triggers do not refuse the
restore (pg_restore creates triggers after the data; SQLite copies pages), and still hold after."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ketacare.db.engine import get_engine
from ketacare.features.controlled import service
from tests.cli_runner import run_cli
from tests.conftest import _postgres_database
from tests.controlled.support import CS, T0, make_site, stock
from tests.test_backup import snapshot
from tests.test_cli import cli_env


@pytest.fixture
def restore_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on the same backend."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    gen = _postgres_database()
    yield next(gen)
    for _ in gen:
        pass


def test_backup_restores_the_ledger_and_its_guards(
    db: Session,
    engine: Engine,
    database_url: str,
    restore_url: str,
    tmp_path: Path,
) -> None:
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    draw = service.append(db, site.actor(), CS, T0, vial.id, "draw", 10_000)
    service.append(db, site.actor(), CS, T0, vial.id, "administer", 10_000, draw_id=draw.id)
    db.commit()
    env = cli_env(database_url, tmp_path)
    out = tmp_path / "backup.bin"
    assert run_cli(env, "backup", str(out)).returncode == 0
    original = snapshot(engine)
    r = run_cli({**env, "KETACARE_DATABASE_URL": restore_url}, "restore", str(out))
    assert r.returncode == 0, r.stderr
    restored = get_engine(restore_url)
    assert snapshot(restored) == original
    assert len(original["cs_event"]) == 3
    with pytest.raises(DBAPIError), restored.begin() as conn:
        conn.execute(text("DELETE FROM cs_event"))
    restored.dispose()
