"""Backup and restore round-trip a demo clinic, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, MetaData, inspect, select
from sqlalchemy.orm import Session

from ketacare.db.engine import get_engine
from ketacare.features.auth.models import Role
from tests.cli_runner import run_cli
from tests.conftest import _postgres_database, api_token, make_clinic, make_user
from tests.test_cli import cli_env


@pytest.fixture
def empty_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """An empty database on the same backend."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path / 'restored.db'}"
        return
    gen = _postgres_database()
    yield next(gen)
    for _ in gen:
        pass


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, ordered by primary key."""
    meta = MetaData()
    meta.reflect(engine)
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            order = list(table.primary_key.columns) or list(table.columns)
            out[table.name] = [tuple(r) for r in conn.execute(select(table).order_by(*order))]
    return out


def test_round_trip(
    client: TestClient,
    db: Session,
    engine: Engine,
    database_url: str,
    empty_url: str,
    tmp_path: Path,
) -> None:
    env = cli_env(database_url, tmp_path)
    assert run_cli(env, "demo", "seed").returncode == 0
    headers = {
        "Authorization": f"Bearer {api_token(db, make_user(db, make_clinic(db), Role.nurse))}"
    }
    for i in range(5):
        client.post("/api/v1/screenings", json={"phq9": [i % 4] * 9, "gad7": [1] * 7})
        client.post(
            "/api/v1/patients",
            json={"given_name": f"P{i}", "family_name": "Q", "birth_date": "1980-01-02"},
            headers=headers,
        )
    wording = tmp_path / "madrs.json"
    wording.write_text('{"1": "Clinic-licensed wording for item 1"}', encoding="utf-8")
    load = ["instruments", "load-text", "madrs", "--clinic", "public",
            "--file", str(wording), "--licence", "Test licence 1"]  # fmt: skip
    assert run_cli(env, *load).returncode == 0
    original = snapshot(engine)
    assert original["patient"] and original["screening"] and original["audit_event"]
    assert original["instrument_text"]  # JSON text and the licence note round-trip too

    out = tmp_path / "backup.bin"
    r = run_cli(env, "backup", str(out))
    assert r.returncode == 0, r.stderr
    again = run_cli(env, "backup", str(out))
    assert again.returncode == 2 and "already exists" in again.stderr
    original = snapshot(engine)  # with the backup's own audit event, written before it

    target_env = {**env, "KETACARE_DATABASE_URL": empty_url}
    r = run_cli(target_env, "restore", str(out))
    assert r.returncode == 0, r.stderr
    restored = get_engine(empty_url)
    assert snapshot(restored) == original
    # Refuses to restore over data.
    twice = run_cli(target_env, "restore", str(out))
    assert twice.returncode == 2 and "not empty" in twice.stderr
    restored.dispose()


def test_restore_refuses_a_wrong_file(database_url: str, empty_url: str, tmp_path: Path) -> None:
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup at all")
    env = {**cli_env(database_url, tmp_path), "KETACARE_DATABASE_URL": empty_url}
    r = run_cli(env, "restore", str(junk))
    assert r.returncode == 2 and "IN:" in r.stderr and "Traceback" not in r.stderr


def test_restore_of_a_truncated_backup_fails_cleanly(
    engine: Engine, database_url: str, empty_url: str, tmp_path: Path
) -> None:
    """A backup cut in half (disk full, interrupted copy): exit 2 with a clear error, no
    traceback, and nothing left behind (no empty SQLite file, no tables)."""
    from ketacare.features.system import backup as backups

    full = tmp_path / "full.bin"
    backups.backup(engine, full)
    data = full.read_bytes()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(data[: len(data) // 2])
    env = {**cli_env(database_url, tmp_path), "KETACARE_DATABASE_URL": empty_url}
    r = run_cli(env, "restore", str(cut))
    assert r.returncode == 2, r.stdout + r.stderr
    assert "IN:" in r.stderr and "Traceback" not in r.stderr
    if empty_url.startswith("sqlite"):
        assert "damaged or truncated" in r.stderr
        target = Path(empty_url.removeprefix("sqlite:///"))
        assert not target.exists() and not Path(f"{target}-wal").exists()
    else:
        restored = get_engine(empty_url)
        assert inspect(restored).get_table_names() == []
        restored.dispose()
