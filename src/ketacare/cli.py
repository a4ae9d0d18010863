"""The ``ketacare`` command line (Typer). Bad input exits with status 2 and a message."""

from __future__ import annotations

import typer

from ketacare.features.analytics.cli import make_analytics_app
from ketacare.features.assessments.cli import alerts_app
from ketacare.features.audit.cli import audit_app
from ketacare.features.auth.cli import token_app, user_app
from ketacare.features.clinics.cli import clinic_app
from ketacare.features.demo.cli import demo_generate
from ketacare.features.instruments.cli import instruments_app, score
from ketacare.features.intake.cli import dose, eligibility, schedule
from ketacare.features.interop.cli import fhir_app, research_export
from ketacare.features.pk.cli import pk_app
from ketacare.features.reports.cli import cohort_loader, report_app
from ketacare.features.system.cli import (
    backup_command,
    config_app,
    db_app,
    demo_app,
    restore_command,
    serve,
)

app = typer.Typer(
    name="ketacare",
    help="ketacare: ketamine and esketamine clinic platform.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.command("serve")(serve)
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
# Feature command groups register below, one line each.
app.add_typer(pk_app, name="pk")
app.command("dose")(dose)
app.command("schedule")(schedule)
app.command("eligibility")(eligibility)
app.add_typer(instruments_app, name="instruments")
app.command("score")(score)
app.add_typer(alerts_app, name="alerts")
app.add_typer(make_analytics_app(db_loader=cohort_loader), name="analytics")
app.add_typer(report_app, name="report")
demo_app.command("generate")(demo_generate)
app.add_typer(fhir_app, name="fhir")
app.command("research-export")(research_export)
app.add_typer(clinic_app, name="clinic")


def main() -> None:
    """Console-script entry point."""
    app()
