"""``ketacare jobs run [--once]``: every feature's periodic jobs, for cron or as a process.

The feature's code is imported inside each command: ``ketacare jobs --help`` loads Typer
alone (docs/architecture.md, "CLI start-up")."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from ketacare.features._kit.cli import fail, load_settings

jobs_app = typer.Typer(
    help="Periodic jobs of every feature (links, alerts, ...).", no_args_is_help=True
)


@jobs_app.command("run")
def run(
    once: Annotated[bool, typer.Option("--once", help="Run every job once and exit.")] = False,
    interval: Annotated[
        float | None,
        typer.Option(
            "--interval",
            help="Seconds between runs (default KETACARE_PERIODIC_INTERVAL_S, or 60 if 0).",
        ),
    ] = None,
) -> None:
    """Run every registered periodic job, once or every INTERVAL seconds until stopped.

    Safe beside the app's own periodic runner and on several hosts: each job is idempotent.
    Exit status 1 when a job failed (with --once).
    """
    from ketacare.db.engine import get_engine, session_factory
    from ketacare.features.jobs.runner import run_all

    settings = load_settings()
    every = interval if interval is not None else (settings.periodic_interval_s or 60.0)
    if not 0 < every <= 86_400:
        raise fail("--interval: must be between 0 and 86400 seconds")
    sessions = session_factory(get_engine(settings.database_url))
    while True:
        results = run_all(sessions, settings)
        for r in results:
            typer.echo(f"{r.name}: {'failed (' + r.error + ')' if r.error else r.result}")
        if once:
            if any(r.error for r in results):
                raise typer.Exit(1)
            return
        time.sleep(every)


@jobs_app.command("list")
def list_jobs() -> None:
    """List the registered periodic jobs (name and where they live)."""
    from ketacare.features import registry

    for job in registry.features_jobs():
        typer.echo(f"{job.name}\t{job.target}")
