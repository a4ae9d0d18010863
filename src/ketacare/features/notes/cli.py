"""``ketacare notes``: list a clinic's note templates, add its own from a JSON file.

The feature's code is imported inside each command: ``ketacare notes --help`` loads Typer
alone (docs/architecture.md, "CLI start-up")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from ketacare.features._kit.cli import fail, load_settings

app = typer.Typer(
    help="Clinical note templates: list, add a clinic's own (docs/notes.md)", no_args_is_help=True
)
ClinicOpt = Annotated[str | None, typer.Option(help="Clinic slug (default: the public one).")]


@app.command("templates")
def templates(clinic: ClinicOpt = None) -> None:
    """List the templates the clinic writes from (key, version, kind, title, sections)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.clinics.repository import by_slug
    from ketacare.features.notes import service

    settings = load_settings()
    slug = (clinic or settings.public_clinic).strip().lower()
    with unit_of_work(get_engine(settings.database_url)) as db:
        row = by_slug(db, slug)
        if row is None:
            raise fail(f"--clinic: no clinic '{slug}'")
        for t in service.templates_for(db, row.id):
            sections = ", ".join(s.id for s in t.sections)
            typer.echo(f"{t.key} v{t.version} [{t.kind}] {t.title}: {sections}")


@app.command("template-add")
def template_add(
    path: Annotated[Path, typer.Argument(help="A template JSON file (docs/notes.md).")],
    clinic: ClinicOpt = None,
) -> None:
    """Add the clinic's own version of each template in the file (one template, or
    ``{"format": "ketacare-note-templates/1", "templates": [...]}``)."""
    from ketacare.db.base import utcnow
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.domain.errors import InvalidAnswer
    from ketacare.domain.notes.templates import parse_template_file
    from ketacare.features._kit.errors import KetacareError
    from ketacare.features.auth.actor import Actor
    from ketacare.features.clinics.repository import by_slug
    from ketacare.features.notes import service

    settings = load_settings()
    slug = (clinic or settings.public_clinic).strip().lower()
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        parsed = parse_template_file(data)
    except OSError as exc:
        raise fail(f"PATH: cannot read {path}: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise fail(f"PATH: not JSON (line {exc.lineno}): {exc.msg}") from None
    except InvalidAnswer as exc:
        raise fail(f"{exc.field}: {exc.reason}") from None
    with unit_of_work(get_engine(settings.database_url)) as db:
        row = by_slug(db, slug)
        if row is None:
            raise fail(f"--clinic: no clinic '{slug}'")
        cli = Actor.cli(row.id)
        for t in parsed:
            try:
                added = service.add_template(db, cli, row.id, t.as_dict(), utcnow(), False)
            except KetacareError as exc:
                raise fail(f"{t.key}: {exc.field}: {exc.reason}") from None
            typer.echo(f"clinic '{slug}': template {added.key} v{added.version} added")
