"""``ketacare instruments list|show|import|load-text|unload-text|texts`` and ``ketacare score``.

Bad input exits 2 naming the field; a command that exits 2 stores nothing.

The feature's code is imported inside each command: ``ketacare instruments --help`` loads
Typer and :mod:`.score_cli` (domain code, Rich) alone (docs/architecture.md, "CLI start-up")."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ketacare.features._kit.cli import load_settings
from ketacare.features.instruments.score_cli import _instrument, _read_json, fail, score

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ketacare.features.auth.actor import Actor
    from ketacare.features.auth.models import User
    from ketacare.features.clinics.models import Clinic

__all__ = ["fail", "instruments_app", "score"]

instruments_app = typer.Typer(help="Rating scales and questionnaires.", no_args_is_help=True)


def _plain(value: Any) -> Any:
    """Dataclasses, mappings and tuples as JSON-ready values."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


@instruments_app.command("list")
def list_instruments() -> None:
    """List the built-in instruments."""
    from ketacare.domain.instruments import get_instrument, instrument_ids

    rows = [("ID", "VERSION", "ITEMS", "RANGE", "ITEM TEXT", "NAME")]
    for iid in instrument_ids():
        inst = get_instrument(iid)
        rng = f"{inst.range[0]}-{inst.range[1]}" if inst.range else "levels"
        rows.append(
            (iid, inst.version, str(len(inst.items)), rng, inst.licence.item_text, inst.name)
        )
    widths = [max(len(r[k]) for r in rows) for k in range(5)]
    for r in rows:
        typer.echo("  ".join(c.ljust(w) for c, w in zip(r[:5], widths, strict=True)) + "  " + r[5])


@instruments_app.command("show")
def show(
    instrument_id: Annotated[str, typer.Argument(metavar="ID", help="Instrument id.")],
    fhir: Annotated[bool, typer.Option("--fhir", help="Print an R4 Questionnaire.")] = False,
    texts: Annotated[
        Path | None, typer.Option("--texts", help="JSON file of clinic-licensed item text.")
    ] = None,
) -> None:
    """Print an instrument definition as JSON (or as a FHIR R4 Questionnaire)."""
    from ketacare.domain.errors import InvalidAnswer
    from ketacare.domain.instruments import with_item_texts
    from ketacare.fhir import to_questionnaire

    inst = _instrument(instrument_id)
    if texts is not None:
        try:
            inst = with_item_texts(instrument_id, _read_json(texts, "texts"))
        except InvalidAnswer as exc:
            raise fail(str(exc)) from None
    data = to_questionnaire(inst) if fhir else _plain(inst)
    typer.echo(json.dumps(data, indent=2, ensure_ascii=False))


@instruments_app.command("import")
def import_questionnaire(
    file: Annotated[Path, typer.Argument(help="R4 Questionnaire JSON file.")],
    response: Annotated[
        list[Path] | None,
        typer.Option("--response", "-r", help="QuestionnaireResponse JSON to score (repeatable)."),
    ] = None,
) -> None:
    """Match a third-party Questionnaire to a built-in instrument by LOINC; score responses."""
    from ketacare.domain.errors import InvalidAnswer
    from ketacare.fhir import match_questionnaire, score_response

    q = _read_json(file, "questionnaire")
    if not isinstance(q, Mapping):
        raise fail("questionnaire: must be a JSON object")
    try:
        match = match_questionnaire(q)
        report = match.report()
        scored = []
        for path in response or []:
            qr = _read_json(path, "response")
            result = score_response(match, qr)
            scored.append(
                {
                    "file": str(path),
                    **result.result.to_dict(),
                    "supplied_total": result.supplied_total,
                    "total_mismatch": result.total_mismatch,
                }
            )
    except InvalidAnswer as exc:
        raise fail(str(exc)) from None
    if scored:
        report["responses"] = scored
    typer.echo(json.dumps(report, indent=2, ensure_ascii=False))


ClinicOption = Annotated[str, typer.Option("--clinic", help="Clinic slug or id.")]


def _clinic(db: Session, ref: str) -> Clinic:
    from ketacare.features.clinics.models import Clinic
    from ketacare.features.clinics.repository import by_slug

    ref = ref.strip()
    clinic = db.get(Clinic, int(ref)) if ref.isdigit() else by_slug(db, ref.lower())
    if clinic is None:
        raise fail(f"--clinic: no clinic {ref!r}")
    return clinic


def _user(db: Session, clinic: Clinic, email: str | None) -> User | None:
    from sqlalchemy import select

    from ketacare.features.auth.models import User

    if email is None:
        return None
    user = db.execute(
        select(User).where(User.email == email.strip().lower(), User.clinic_id == clinic.id)
    ).scalar_one_or_none()
    if user is None:
        raise fail(f"--by: no user {email!r} in clinic '{clinic.slug}'")
    return user


def _actor(db: Session, clinic: Clinic, email: str | None) -> Actor:
    """The CLI actor: the ``--by`` user over the CLI, else the operating-system user."""
    from ketacare.features.auth.actor import Actor

    user = _user(db, clinic, email)
    if user is None:
        return Actor.cli(clinic.id)
    return Actor(user=user, channel="cli", clinic_id=clinic.id)


@instruments_app.command("load-text")
def load_text(
    instrument_id: Annotated[str, typer.Argument(metavar="ID", help="Instrument id.")],
    clinic: ClinicOption,
    file: Annotated[
        Path, typer.Option("--file", help="JSON object mapping item id to licensed text.")
    ],
    licence: Annotated[
        str, typer.Option("--licence", help="Who granted the licence, or its reference.")
    ],
    by: Annotated[
        str | None, typer.Option("--by", help="Email of the clinic user loading it.")
    ] = None,
) -> None:
    """Store a clinic's licensed item text for an instrument (replaces any loaded before)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.domain.instruments import get_instrument
    from ketacare.features._kit.errors import BadRequest
    from ketacare.features.instruments import texts as clinic_texts
    from ketacare.features.instruments.texts import linkable

    raw = _read_json(file, "--file")
    settings = load_settings()
    with unit_of_work(get_engine(settings.database_url)) as db:
        owner = _clinic(db, clinic)
        try:
            row = clinic_texts.load_text(
                db, owner.id, instrument_id, raw, licence, _actor(db, owner, by)
            )
        except BadRequest as exc:
            raise fail(str(exc)) from None
        n, iid, slug = len(row.texts), row.instrument_id, owner.slug
        can_link = linkable(clinic_texts.clinic_instrument(db, owner.id, iid))
    inst = get_instrument(iid)
    typer.echo(f"loaded {n} of {len(inst.items)} item texts of {iid} for clinic '{slug}'")
    if not can_link:
        typer.echo(
            f"note: {inst.short_name} links need text for every item and a self-report "
            "instrument; clinicians see the loaded text on the score-entry form",
        )


@instruments_app.command("unload-text")
def unload_text(
    instrument_id: Annotated[str, typer.Argument(metavar="ID", help="Instrument id.")],
    clinic: ClinicOption,
) -> None:
    """Delete a clinic's licensed item text (its links stop being sent; labels only again)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features._kit.errors import BadRequest
    from ketacare.features.instruments import texts as clinic_texts

    settings = load_settings()
    with unit_of_work(get_engine(settings.database_url)) as db:
        owner = _clinic(db, clinic)
        try:
            gone = clinic_texts.unload_text(db, owner.id, instrument_id)
        except BadRequest as exc:
            raise fail(str(exc)) from None
        slug = owner.slug
    if not gone:
        raise fail(f"ID: clinic '{slug}' has no text loaded for {instrument_id}")
    typer.echo(f"removed the text of {instrument_id} for clinic '{slug}'")


@instruments_app.command("texts")
def list_texts(clinic: ClinicOption) -> None:
    """List the instruments a clinic has loaded licensed text for (the text is not shown)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.domain.instruments import get_instrument
    from ketacare.features.instruments import texts as clinic_texts

    settings = load_settings()
    with unit_of_work(get_engine(settings.database_url)) as db:
        owner = _clinic(db, clinic)
        rows = [
            (r.instrument_id, len(r.texts), r.loaded_at.date().isoformat(), r.licence_note)
            for r in clinic_texts.loaded(db, owner.id)
        ]
    for iid, n, day, note in rows:
        typer.echo(f"{iid}\t{n}/{len(get_instrument(iid).items)} items\t{day}\t{note}")
    if not rows:
        typer.echo("no licensed text loaded", err=True)
