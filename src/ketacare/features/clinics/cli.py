"""Clinic commands: ``ketacare clinic show`` and ``ketacare clinic set-timezone``."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import select

from ketacare.db.engine import get_engine, unit_of_work
from ketacare.features._kit import clock
from ketacare.features._kit.cli import fail, load_settings
from ketacare.features.clinics.models import Clinic
from ketacare.features.clinics.repository import by_slug

clinic_app = typer.Typer(help="Clinics (time zone).", no_args_is_help=True)


@clinic_app.command("show")
def clinic_show() -> None:
    """List the clinics with the time zone their pages, PDFs, CSV and calendars use."""
    settings = load_settings()
    with unit_of_work(get_engine(settings.database_url)) as db:
        for clinic in db.execute(select(Clinic).order_by(Clinic.slug)).scalars():
            zone = clinic.timezone or f"{settings.timezone} (KETACARE_TIMEZONE)"
            typer.echo(f"{clinic.slug}\t{zone}\t{clinic.name}")


@clinic_app.command("set-timezone")
def clinic_set_timezone(
    timezone: Annotated[
        str, typer.Argument(help="IANA zone, e.g. America/New_York; 'default' to unset.")
    ],
    clinic: Annotated[str | None, typer.Option(help="Clinic slug (default: the public one).")] = (
        None
    ),
) -> None:
    """Set the clinic's time zone: times stay stored in UTC and are shown and typed in it."""
    settings = load_settings()
    slug = (clinic or settings.public_clinic).strip().lower()
    name: str | None = None
    if timezone.strip().lower() != "default":
        try:
            name = clock.valid_tz(timezone)
        except clock.TimeError as exc:
            raise fail(f"TIMEZONE: {exc}") from None
    with unit_of_work(get_engine(settings.database_url)) as db:
        row = by_slug(db, slug)
        if row is None:
            raise fail(f"--clinic: no clinic '{slug}'")
        row.timezone = name
    shown = name or f"{settings.timezone} (KETACARE_TIMEZONE)"
    typer.echo(f"clinic '{slug}' time zone: {shown}")
