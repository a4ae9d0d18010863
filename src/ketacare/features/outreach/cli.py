"""``ketacare alerts escalate`` and ``ketacare alerts dispatch`` (for cron).

The feature's code is imported inside each command: ``ketacare alerts --help`` loads Typer
alone (docs/architecture.md, "CLI start-up")."""

from __future__ import annotations

import typer

from ketacare.features._kit.cli import load_settings

alerts_app = typer.Typer(
    help="Measurement-based care jobs: alert escalation and assessment links.",
    no_args_is_help=True,
)


@alerts_app.command("escalate")
def escalate() -> None:
    """Escalate alerts unacknowledged past KETACARE_ALERT_ESCALATE_MINUTES to clinic admins.

    Safe to run from cron on several hosts at once: each alert escalates once.
    """
    from ketacare.db.engine import get_engine, session_factory
    from ketacare.features.outreach.jobs import run_once

    settings = load_settings()
    sessions = session_factory(get_engine(settings.database_url))
    report = run_once(sessions, settings, dispatch=False)
    typer.echo(f"escalated {report.escalated} alert(s)")


@alerts_app.command("dispatch")
def dispatch() -> None:
    """Create and send the assessment links that have fallen due."""
    from ketacare.db.engine import get_engine, session_factory
    from ketacare.features.outreach.jobs import run_once

    settings = load_settings()
    sessions = session_factory(get_engine(settings.database_url))
    report = run_once(sessions, settings, escalate=False)
    typer.echo(f"sent {report.links} link(s)")
