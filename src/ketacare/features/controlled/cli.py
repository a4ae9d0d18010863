"""``ketacare cs receive|count|inventory|log``: controlled-substance records from the shell.

Each command names the staff member who acts (``--as EMAIL``: the receiver, counter or
signer, whose role is checked); the audit log also names the operating-system user. Bad input
exits with status 2 and a message naming the option; nothing is stored.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from ketacare.features._kit.cli import fail, load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ketacare.features._kit.errors import KetacareError
    from ketacare.features.auth.actor import Actor
    from ketacare.features.controlled.config import CsSettings
    from ketacare.features.controlled.models import CsRegistration

cs_app = typer.Typer(help="Controlled-substance records (DEA Schedule III).", no_args_is_help=True)
AsOpt = Annotated[str, typer.Option("--as", help="Email of the staff member who acts.")]


def _cs_settings() -> CsSettings:
    from pydantic import ValidationError

    from ketacare.features.controlled.config import CsSettings

    try:
        return CsSettings()
    except ValidationError as exc:
        err = exc.errors()[0]
        raise fail(f"KETACARE_CS_{str(err['loc'][0]).upper()}: {err['msg']}") from None


def _actor(db: Session, email: str) -> Actor:
    from ketacare.features.auth import service as accounts
    from ketacare.features.auth.actor import Actor, os_user

    user = accounts.user_by_email(db, email)
    if user is None or not user.is_active or not user.is_staff:
        raise fail(f"--as: no active staff member {email!r}")
    return Actor(user=user, channel="cli", name=os_user(), clinic_id=user.clinic_id)


def _tz(db: Session, actor: Actor, default: str) -> str:
    from ketacare.features.clinics.models import Clinic

    clinic = db.get(Clinic, actor.clinic_id)
    return (clinic.timezone if clinic is not None else None) or default


def _registration(db: Session, actor: Actor, dea: str) -> CsRegistration:
    from sqlalchemy import select

    from ketacare.features.controlled.models import CsRegistration

    reg = db.execute(
        select(CsRegistration).where(
            CsRegistration.clinic_id == actor.clinic_id,
            CsRegistration.dea_number == dea.strip().upper(),
        )
    ).scalar_one_or_none()
    if reg is None:
        raise fail(f"--registration: no registration {dea!r} in this clinic")
    return reg


def _day(option: str, text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise fail(f"{option}: {text!r} is not a date (YYYY-MM-DD)") from None


def _write(option: str, out: Path, body: bytes) -> None:
    from ketacare.features._kit.files import staged

    try:
        with staged(out) as tmp:
            tmp.write_bytes(body)
    except OSError as exc:
        raise fail(f"{option}: cannot write {out} ({exc.strerror})") from None


def _refused(exc: KetacareError, option: str = "") -> typer.Exit:
    name = option or (f"--{exc.field.replace('_', '-')}" if exc.field else "input")
    return fail(f"{name}: {exc.reason}")


@cs_app.command("receive")
def cs_receive(
    as_email: AsOpt,
    file: Annotated[Path, typer.Option("--file", help="Receipt as JSON (the API's fields).")],
) -> None:
    """Record a receipt (invoice, supplier, NDC, lot, expiry, containers); print the labels."""
    from pydantic import ValidationError

    from ketacare.db.base import utcnow
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features._kit.errors import KetacareError
    from ketacare.features.controlled import service
    from ketacare.features.controlled.queries import receipt_containers
    from ketacare.features.controlled.schemas import ReceiptBody

    settings, cs = load_settings(), _cs_settings()
    try:
        raw: Any = json.loads(file.read_text(encoding="utf-8"))
        body = ReceiptBody.model_validate(raw)
    except OSError as exc:
        raise fail(f"--file: cannot read {file} ({exc.strerror})") from None
    except (ValueError, ValidationError) as exc:
        raise fail(f"--file: {exc}".splitlines()[0]) from None
    fields = body.model_dump(exclude={"witness_email", "witness_password"})
    try:
        with unit_of_work(get_engine(settings.database_url)) as db:
            actor = _actor(db, as_email)
            receipt = service.receive(db, actor, cs, utcnow(), service.ReceiptIn(**fields))
            labels = [c.label for c in receipt_containers(db, receipt.id)]
    except KetacareError as exc:
        raise _refused(exc) from None
    typer.echo(f"receipt {receipt.id}: {len(labels)} container(s)")
    for label in labels:
        typer.echo(label)


@cs_app.command("count")
def cs_count(
    as_email: AsOpt,
    container: Annotated[str, typer.Option(help="Container label, e.g. CS000001-001.")],
    counted_mg: Annotated[str, typer.Option("--counted-mg", help="Quantity counted (mg).")],
    significant: Annotated[
        bool, typer.Option(help="A theft or significant loss: start the DEA timers.")
    ] = False,
) -> None:
    """Count a container against the ledger; a difference opens a discrepancy case."""
    from ketacare.db.base import utcnow
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.domain.compliance import controlled as rules
    from ketacare.features._kit.errors import KetacareError
    from ketacare.features.controlled import records, service

    settings, cs = load_settings(), _cs_settings()
    try:
        ug = rules.mg_to_ug(counted_mg)
    except ValueError as exc:
        raise fail(f"--counted-mg: {exc}") from None
    try:
        with unit_of_work(get_engine(settings.database_url)) as db:
            actor = _actor(db, as_email)
            c = service.container_by_label(db, actor.clinic_id, container)
            row = records.record_count(
                db, actor, cs, utcnow(), _tz(db, actor, settings.timezone), c.id, ug,
                significant=significant,
            )  # fmt: skip
            expected, case_id = row.expected_ug, row.case_id
    except KetacareError as exc:
        raise _refused(exc, "--container" if exc.field == "container" else "") from None
    typer.echo(f"expected {rules.fmt_mg(expected)}, counted {rules.fmt_mg(ug)}")
    if case_id is not None:
        typer.echo(f"discrepancy: case {case_id} opened")


@cs_app.command("inventory")
def cs_inventory(
    as_email: AsOpt,
    registration: Annotated[str, typer.Option(help="DEA number of the registration.")],
    kind: Annotated[str, typer.Option(help="initial, biennial or annual.")] = "biennial",
    timing: Annotated[str, typer.Option(help="opening or close (of business).")] = "close",
    csv_out: Annotated[Path | None, typer.Option("--csv", help="CSV file to write.")] = None,
    pdf_out: Annotated[Path | None, typer.Option("--pdf", help="PDF file to write.")] = None,
) -> None:
    """Take and sign an inventory of every container on hand; print it (or write CSV/PDF)."""
    from ketacare.db.base import utcnow
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features._kit import clock
    from ketacare.features._kit.errors import KetacareError
    from ketacare.features.controlled import records

    settings, cs = load_settings(), _cs_settings()
    try:
        with unit_of_work(get_engine(settings.database_url)) as db:
            actor = _actor(db, as_email)
            reg = _registration(db, actor, registration)
            inv = records.take_inventory(db, actor, cs, utcnow(), reg.id, kind, timing)
            rows = records.inventory_rows(inv)
            tz = _tz(db, actor, settings.timezone)
            taken = clock.format_local(inv.taken_at, tz)
            title = f"{kind.capitalize()} inventory ({timing} of business), {reg.site_name}"
            signed = f"Taken and signed by {inv.signed_by_email} on {taken} ({reg.dea_number})."
            body = b""
            if pdf_out:
                from ketacare.features.controlled import pdf  # fpdf2 with the first PDF

                body = pdf.inventory_pdf(title, reg.address, rows, signed)
    except KetacareError as exc:
        raise _refused(exc) from None
    text = records.to_csv(rows, records.INVENTORY_COLUMNS)
    if csv_out:
        _write("--csv", csv_out, text.encode())
    if pdf_out:
        _write("--pdf", pdf_out, body)
    if not csv_out and not pdf_out:
        typer.echo(text, nl=False)


@cs_app.command("log")
def cs_log(
    as_email: AsOpt,
    registration: Annotated[str, typer.Option(help="DEA number of the registration.")],
    start: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, clinic time).")],
    end: Annotated[str, typer.Option("--to", help="Last day (YYYY-MM-DD, clinic time).")],
    csv_out: Annotated[Path | None, typer.Option("--csv", help="CSV file to write.")] = None,
    pdf_out: Annotated[Path | None, typer.Option("--pdf", help="PDF file to write.")] = None,
) -> None:
    """The administration/disposal log of a registration for a date range (audited), streamed
    from the database to the file or standard output (a two-year log is never held in memory,
    except the PDF's pages)."""
    from ketacare.db.engine import get_engine, session_factory, unit_of_work
    from ketacare.features._kit.errors import KetacareError
    from ketacare.features._kit.files import staged
    from ketacare.features.controlled import records, service

    settings = load_settings()
    first, last = _day("--from", start), _day("--to", end)
    engine = get_engine(settings.database_url)
    ranges: dict[str, records.LogRange] = {}
    try:
        with unit_of_work(engine) as db:  # commits the export events before any row is out
            actor = _actor(db, as_email)
            reg = _registration(db, actor, registration)
            tz = _tz(db, actor, settings.timezone)
            service.check_date(first, "from")
            service.check_date(last, "to")
            for fmt in ("pdf",) * bool(pdf_out) + ("csv",) * (bool(csv_out) or not pdf_out):
                ranges[fmt] = records.open_log_export(db, actor, tz, reg.id, first, last, fmt)
            sub = f"{reg.site_name} ({reg.dea_number}), {first} to {last} ({tz})"
    except KetacareError as exc:
        raise _refused(exc, "--to" if exc.field == "end" else "") from None
    sessions = session_factory(engine)
    if pdf_out:
        from ketacare.features.controlled import pdf  # fpdf2 with the first PDF (Hot paths)

        rows = (
            dict(zip(records.LOG_COLUMNS, v, strict=True))
            for v in records.export_rows(sessions, ranges["pdf"])
        )
        _write("--pdf", pdf_out, pdf.log_pdf("Controlled-substance log", sub, rows))
    if "csv" not in ranges:
        return
    chunks = records.csv_chunks(records.export_rows(sessions, ranges["csv"]))
    if csv_out is None:
        for chunk in chunks:
            typer.echo(chunk, nl=False)
        return
    try:
        with staged(csv_out) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
            for chunk in chunks:
                fh.write(chunk)
    except OSError as exc:
        raise fail(f"--csv: cannot write {csv_out} ({exc.strerror})") from None


__all__ = ["cs_app"]
