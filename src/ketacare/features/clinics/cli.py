"""Clinic commands: ``ketacare clinic show``, ``set-timezone``, ``set-contact`` and ``alerts``
(the admin settings page changes the same settings through ``clinics.service``).

The feature's code is imported inside each command: ``ketacare clinic --help`` loads Typer
alone (docs/architecture.md, "CLI start-up")."""

from __future__ import annotations

from typing import Annotated

import typer

from ketacare.features._kit.cli import fail, load_settings

clinic_app = typer.Typer(help="Clinics (time zone).", no_args_is_help=True)


@clinic_app.command("show")
def clinic_show() -> None:
    """List the clinics with the time zone their pages, PDFs, CSV and calendars use."""
    from sqlalchemy import select

    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.clinics.models import Clinic

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
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.clinics import service
    from ketacare.features.clinics.repository import by_slug

    settings = load_settings()
    slug = (clinic or settings.public_clinic).strip().lower()
    wanted = None if timezone.strip().lower() == "default" else timezone
    with unit_of_work(get_engine(settings.database_url)) as db:
        row = by_slug(db, slug)
        if row is None:
            raise fail(f"--clinic: no clinic '{slug}'")
        try:
            name = service.set_timezone(row, wanted)
        except service.SettingError as exc:
            raise fail(f"TIMEZONE: {exc.reason}") from None
    shown = name or f"{settings.timezone} (KETACARE_TIMEZONE)"
    typer.echo(f"clinic '{slug}' time zone: {shown}")


@clinic_app.command("set-contact")
def clinic_set_contact(
    text: Annotated[str, typer.Argument(help="How patients reach the clinic ('' to clear).")],
    clinic: Annotated[str | None, typer.Option(help="Clinic slug (default: the public one).")] = (
        None
    ),
) -> None:
    """Set the contact text shown to patients (the admin settings page sets it too)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.clinics import service
    from ketacare.features.clinics.repository import by_slug

    settings = load_settings()
    slug = (clinic or settings.public_clinic).strip().lower()
    with unit_of_work(get_engine(settings.database_url)) as db:
        row = by_slug(db, slug)
        if row is None:
            raise fail(f"--clinic: no clinic '{slug}'")
        try:
            service.set_contact(row, text)
        except service.SettingError as exc:
            raise fail(f"TEXT: {exc.reason}") from None
    typer.echo(f"clinic '{slug}' contact text saved")


@clinic_app.command("alerts")
def clinic_alerts(
    clinic: Annotated[str | None, typer.Option(help="Clinic slug (default: the public one).")] = (
        None
    ),
    disable: Annotated[
        list[str] | None,
        typer.Option(help="Switch off a warning rule (worsening.mcid, band.severe_entry)."),
    ] = None,
    mcid: Annotated[
        list[str] | None,
        typer.Option(help="INSTRUMENT=POINTS threshold of worsening.mcid, repeatable."),
    ] = None,
    show: Annotated[bool, typer.Option(help="Only print the rules in force.")] = False,
) -> None:
    """Show or set the clinic's alert rules (what is not given is reset to the default)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.clinics import service
    from ketacare.features.clinics.repository import by_slug

    settings = load_settings()
    slug = (clinic or settings.public_clinic).strip().lower()
    with unit_of_work(get_engine(settings.database_url)) as db:
        row = by_slug(db, slug)
        if row is None:
            raise fail(f"--clinic: no clinic '{slug}'")
        if not show:
            overrides: dict[str, float | None] = {}
            try:
                for item in mcid or []:
                    inst, _, points = item.partition("=")
                    if inst.strip() not in service.MCID_INSTRUMENTS:
                        raise service.SettingError(
                            f"mcid_{inst.strip()}", "has no configurable MCID"
                        )
                    overrides[inst.strip()] = service.parse_mcid(inst.strip(), points)
                rules = service.set_alert_rules(row, set(disable or []), overrides)
            except service.SettingError as exc:
                flag = "--mcid" if exc.field.startswith("mcid") else "--disable"
                raise fail(f"{flag}: {exc.field}: {exc.reason}") from None
        else:
            rules = service.alert_rules(row)
        off = ", ".join(sorted(rules.disabled)) or "none"
        typer.echo(f"clinic '{slug}' rules switched off: {off}")
        for inst in service.MCID_INSTRUMENTS:
            value = rules.mcid.get(inst, service.default_mcid_of(inst))
            typer.echo(f"mcid {inst}: {'off' if value is None else f'{value:g}'}")
