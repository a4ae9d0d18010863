"""Migrations match the models and run up and down on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect, text

from ketacare.db import migrate
from ketacare.features.models import Base


def test_schema_matches_models(engine: Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []
    assert migrate.current(engine) == migrate.head()


def test_downgrade_to_base_and_back(engine: Engine) -> None:
    migrate.downgrade(engine, "base")
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert {"clinic", "app_user", "screening", "lead"} <= set(inspect(engine).get_table_names())


def test_sqlite_pragmas(engine: Engine) -> None:
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_instrument_text_migration_up_and_down_keeps_other_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO clinic (slug, name, created_at) "
                "VALUES ('mig', 'Mig', CURRENT_TIMESTAMP)"
            )
        )
    migrate.downgrade(engine, "0006")
    tables = set(inspect(engine).get_table_names())
    assert "instrument_text" not in tables and "assessment" in tables
    migrate.upgrade(engine)
    assert migrate.current(engine) == migrate.head()
    cols = {c["name"] for c in inspect(engine).get_columns("instrument_text")}
    assert {"clinic_id", "instrument_id", "texts", "licence_note", "loaded_by_id"} <= cols
    uniques = inspect(engine).get_unique_constraints("instrument_text")
    assert [u["column_names"] for u in uniques] == [["clinic_id", "instrument_id"]]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT slug FROM clinic")).scalar() == "mig"


def test_clinic_timezone_migration_up_and_down_keeps_clinics(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO clinic (slug, name, created_at, timezone) "
                "VALUES ('tz', 'Tz', CURRENT_TIMESTAMP, 'America/New_York')"
            )
        )
    migrate.downgrade(engine, "0011")
    assert "timezone" not in {c["name"] for c in inspect(engine).get_columns("clinic")}
    migrate.upgrade(engine)
    assert "timezone" in {c["name"] for c in inspect(engine).get_columns("clinic")}
    with engine.connect() as conn:
        assert conn.execute(text("SELECT slug, timezone FROM clinic")).one() == ("tz", None)
