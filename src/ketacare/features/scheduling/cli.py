"""``ketacare scheduling``: sites, chairs, closures and shifts from the command line, and the
reminder job once (for cron). Times are the clinic's local time (``YYYY-MM-DD HH:MM``)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Annotated

import typer

from ketacare.domain.course.booking import StaffRole
from ketacare.features._kit.cli import fail, load_settings

if TYPE_CHECKING:
    from ketacare.features.clinics.models import Clinic

scheduling_app = typer.Typer(
    help="Scheduling: sites, chairs, closures, staff shifts, reminders.", no_args_is_help=True
)

ClinicOpt = Annotated[str | None, typer.Option(help="Clinic slug (default: the public one).")]
SiteOpt = Annotated[int, typer.Option("--site", help="Site id (see 'ketacare scheduling sites').")]


def _clinic(db: object, slug: str | None, default: str) -> Clinic:
    from ketacare.features.clinics.repository import by_slug

    row = by_slug(db, (slug or default).strip().lower())  # type: ignore[arg-type]
    if row is None:
        raise fail(f"--clinic: no clinic '{slug or default}'")
    return row


@scheduling_app.command("sites")
def sites(clinic: ClinicOpt = None) -> None:
    """List the clinic's sites (id, name, REMS certification, chairs, hours)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.scheduling import queries

    settings = load_settings()
    with unit_of_work(get_engine(settings.database_url)) as db:
        row = _clinic(db, clinic, settings.public_clinic)
        for site in queries.list_sites(db, row.id):
            chairs = ", ".join(c.name for c in queries.list_chairs(db, site.id))
            typer.echo(
                f"{site.id}\t{site.name}\trems={'yes' if site.rems_certified else 'no'}"
                f"\t{chairs}\t{site.hours}"
            )


@scheduling_app.command("site-add")
def site_add(
    name: Annotated[str, typer.Option(help="Site name.")],
    hours: Annotated[str, typer.Option(help="e.g. 'mon-fri 08:00-18:00; sat 09:00-13:00'.")],
    rems: Annotated[bool, typer.Option(help="The site is REMS-certified (esketamine).")] = False,
    chairs: Annotated[int, typer.Option(min=0, max=200, help="Chairs to add.")] = 0,
    clinic: ClinicOpt = None,
) -> None:
    """Add a site with opening hours (and N chairs named 'Chair 1'...)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features._kit.errors import KetacareError
    from ketacare.features.auth.actor import Actor
    from ketacare.features.scheduling import service

    settings = load_settings()
    try:
        with unit_of_work(get_engine(settings.database_url)) as db:
            row = _clinic(db, clinic, settings.public_clinic)
            actor = Actor.cli(row.id)
            site = service.create_site(db, actor, row.id, name, hours, rems)
            for i in range(chairs):
                service.add_chair(db, actor, site, f"Chair {i + 1}")
            site_id = site.id
    except KetacareError as exc:
        raise fail(f"--{(exc.field or 'name').replace('_', '-')}: {exc.reason}") from None
    typer.echo(f"site {site_id} added")


@scheduling_app.command("chair-add")
def chair_add(
    site: SiteOpt, name: Annotated[str, typer.Option(help="Chair name.")], clinic: ClinicOpt = None
) -> None:
    """Add a chair to a site."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features._kit.errors import KetacareError
    from ketacare.features.auth.actor import Actor
    from ketacare.features.scheduling import queries, service

    settings = load_settings()
    try:
        with unit_of_work(get_engine(settings.database_url)) as db:
            row = _clinic(db, clinic, settings.public_clinic)
            found = queries.get_site(db, row.id, site)
            chair_id = service.add_chair(db, Actor.cli(row.id), found, name).id
    except KetacareError as exc:
        raise fail(f"--{(exc.field or 'site').replace('_id', '')}: {exc.reason}") from None
    typer.echo(f"chair {chair_id} added")


@scheduling_app.command("closure-add")
def closure_add(
    site: SiteOpt,
    day: Annotated[str, typer.Option(help="YYYY-MM-DD.")],
    reason: Annotated[str, typer.Option(help="Why (shown to staff).")] = "",
    clinic: ClinicOpt = None,
) -> None:
    """Close a site on a local date."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features._kit.errors import KetacareError
    from ketacare.features.auth.actor import Actor
    from ketacare.features.scheduling import queries, service

    settings = load_settings()
    try:
        on = date.fromisoformat(day)
    except ValueError:
        raise fail("--day: a date like 2030-03-04") from None
    try:
        with unit_of_work(get_engine(settings.database_url)) as db:
            row = _clinic(db, clinic, settings.public_clinic)
            found = queries.get_site(db, row.id, site)
            service.add_closure(db, Actor.cli(row.id), found, on, reason)
    except KetacareError as exc:
        raise fail(f"--{(exc.field or 'site').replace('_id', '')}: {exc.reason}") from None
    typer.echo(f"site {site} closed on {on}")


@scheduling_app.command("shift-add")
def shift_add(
    site: SiteOpt,
    name: Annotated[str, typer.Option(help="Staff member's name.")],
    role: Annotated[StaffRole, typer.Option(help="prescriber, nurse or other.")],
    start: Annotated[str, typer.Option("--from", help="Local 'YYYY-MM-DD HH:MM'.")],
    end: Annotated[str, typer.Option("--to", help="Local 'YYYY-MM-DD HH:MM'.")],
    clinic: ClinicOpt = None,
) -> None:
    """Add a staff shift (clinic local time)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features._kit import clock
    from ketacare.features._kit.errors import KetacareError
    from ketacare.features.auth.actor import Actor
    from ketacare.features.scheduling import queries, service

    settings = load_settings()
    try:
        with unit_of_work(get_engine(settings.database_url)) as db:
            row = _clinic(db, clinic, settings.public_clinic)
            tz = clock.clinic_tz(row, settings.timezone)
            try:
                starts = clock.parse_local(start, tz)
            except (clock.TimeError, ValueError) as exc:
                raise fail(f"--from: {exc}") from None
            try:
                ends = clock.parse_local(end, tz)
            except (clock.TimeError, ValueError) as exc:
                raise fail(f"--to: {exc}") from None
            found = queries.get_site(db, row.id, site)
            shift_id = service.add_shift(db, Actor.cli(row.id), found, name, role, starts, ends).id
    except KetacareError as exc:
        field = {"ends_at": "to", "starts_at": "from", "staff_name": "name"}.get(exc.field or "")
        raise fail(f"--{field or 'site'}: {exc.reason}") from None
    typer.echo(f"shift {shift_id} added")


@scheduling_app.command("remind")
def remind() -> None:
    """Send the reminders that are due now (the periodic job, once; safe on several hosts)."""
    from ketacare.db.base import utcnow
    from ketacare.db.engine import get_engine, session_factory
    from ketacare.features.scheduling import reminders

    settings = load_settings()
    report = reminders.run(session_factory(get_engine(settings.database_url)), settings, utcnow())
    typer.echo(f"reminders sent: {len(report.sent)}, failed: {len(report.failed)}")
