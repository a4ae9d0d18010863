"""``ketacare consent``: add the example consent templates to a clinic.

The feature's code is imported inside each command: ``ketacare consent --help`` loads Typer
alone (docs/architecture.md, "CLI start-up")."""

from __future__ import annotations

from typing import Annotated

import typer

from ketacare.features._kit.cli import fail, load_settings

app = typer.Typer(
    help="Consent templates: add the examples (docs/consent.md)", no_args_is_help=True
)


@app.command("examples")
def examples(
    clinic: Annotated[str | None, typer.Option(help="Clinic slug (default: the public one).")] = (
        None
    ),
) -> None:
    """Add the example templates (IV ketamine, esketamine, telehealth) the clinic lacks."""
    from ketacare.db.base import utcnow
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.auth.actor import Actor
    from ketacare.features.clinics.repository import by_slug
    from ketacare.features.consent import service

    settings = load_settings()
    slug = (clinic or settings.public_clinic).strip().lower()
    with unit_of_work(get_engine(settings.database_url)) as db:
        row = by_slug(db, slug)
        if row is None:
            raise fail(f"--clinic: no clinic '{slug}'")
        cli = Actor.cli(row.id)
        added = service.seed_examples(db, cli, row.id, utcnow(), check_role=False)
    typer.echo(f"clinic '{slug}': {added} example template(s) added; edit their text before use")
