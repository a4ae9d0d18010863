"""Operator commands: serve, config, db, backup and restore.

The code behind each command is imported inside it: ``ketacare db --help`` loads Typer alone
(docs/architecture.md, "CLI start-up")."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from ketacare.features._kit.cli import fail, load_settings

config_app = typer.Typer(help="Show the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)


@config_app.command("show")
def config_show(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the settings in force, secrets masked."""
    values = load_settings().masked()
    if as_json:
        typer.echo(json.dumps(values, indent=2))
        return
    for key, value in values.items():
        typer.echo(f"KETACARE_{key.upper()}={value}")


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Apply migrations up to REVISION (default: the newest)."""
    from ketacare.db import migrate
    from ketacare.db.engine import get_engine

    settings = load_settings()
    migrate.upgrade(get_engine(settings.database_url), revision)
    typer.echo(f"database at {migrate.current(get_engine(settings.database_url))}")


@db_app.command("downgrade")
def db_downgrade(revision: str) -> None:
    """Revert migrations down to REVISION ('base' empties the database)."""
    from ketacare.db import migrate
    from ketacare.db.engine import get_engine

    settings = load_settings()
    migrate.downgrade(get_engine(settings.database_url), revision)
    typer.echo(f"database at {migrate.current(get_engine(settings.database_url))}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's revision and the newest one shipped."""
    from ketacare.db import migrate
    from ketacare.db.engine import get_engine

    settings = load_settings()
    typer.echo(f"current: {migrate.current(get_engine(settings.database_url))}")
    typer.echo(f"head:    {migrate.head()}")


def backup_command(
    out: Annotated[Path, typer.Argument(help="Backup file to create.")],
) -> None:
    """Write a consistent online snapshot of the database (SQLite backup API or pg_dump)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.audit.service import record
    from ketacare.features.auth.actor import Actor
    from ketacare.features.patients.queries import all_patient_ids
    from ketacare.features.system import backup

    settings = load_settings()
    engine = get_engine(settings.database_url)
    if out.exists():
        raise fail(f"OUT: {out} already exists")
    # Audited (every patient, by OS user) before the snapshot, so the backup holds its event.
    with unit_of_work(engine) as db:
        ids = all_patient_ids(db)
        record(db, Actor.cli(), "export", "backup", out.name, patients=ids)
    try:
        backup.backup(engine, out)
    except backup.BackupError as exc:
        with unit_of_work(engine) as db:
            record(db, Actor.cli(), "export", "backup", out.name, outcome="failed")
        raise fail(f"OUT: {exc}") from None
    typer.echo(f"backup written to {out}")


def restore_command(
    source: Annotated[Path, typer.Argument(metavar="IN", help="Backup file to load.")],
) -> None:
    """Load a backup into an empty database (the configured KETACARE_DATABASE_URL)."""
    from ketacare.db.engine import get_engine
    from ketacare.features.system import backup

    settings = load_settings()
    try:
        backup.restore(get_engine(settings.database_url), source)
    except backup.BackupError as exc:
        raise fail(f"IN: {exc}") from None
    typer.echo(f"restored {source}")


def serve(
    host: Annotated[str | None, typer.Option(help="Default: KETACARE_HOST.")] = None,
    port: Annotated[int | None, typer.Option(help="Default: KETACARE_PORT.")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Start the web server (refuses to start when the database is not migrated)."""
    import uvicorn

    from ketacare.db import migrate
    from ketacare.db.engine import get_engine
    from ketacare.settings import get_settings

    settings = load_settings()
    engine = get_engine(settings.database_url)
    if migrate.current(engine) != migrate.head():
        raise fail("the database is not migrated; run 'ketacare db upgrade' first")
    if (host and host != settings.host) or (port and port != settings.port):
        # The workers (and the default public URL of the links) use the served address.
        os.environ["KETACARE_HOST"] = host or settings.host
        os.environ["KETACARE_PORT"] = str(port or settings.port)
        get_settings.cache_clear()
        settings = load_settings()
    host = host or settings.host
    port = port or settings.port
    # Freeze the generated secret for the workers (they read the same file anyway).
    os.environ.setdefault("KETACARE_DATA_DIR", str(settings.data_dir))
    typer.echo(f"ketacare is running at http://{host}:{port}/  (Ctrl+C to stop)")
    typer.echo(f"  public self-screen: http://{host}:{port}/screen")
    typer.echo(f"  staff login:        http://{host}:{port}/login")
    uvicorn.run(
        "ketacare.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        access_log=False,
        # The app reads forwarded headers itself, from KETACARE_TRUSTED_PROXIES only
        # (uvicorn would otherwise believe any loopback peer).
        proxy_headers=False,
    )
