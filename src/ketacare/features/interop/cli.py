"""``ketacare fhir export|import`` and ``ketacare research-export`` (every export audited).

The feature's code is imported inside each command: ``ketacare fhir --help`` loads Typer
alone (docs/architecture.md, "CLI start-up")."""

from __future__ import annotations

import io
import json
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TextIO

import typer

from ketacare.features._kit.cli import fail, load_settings

if TYPE_CHECKING:
    from rich.table import Table
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from ketacare.features.interop.importer import ImportReport

fhir_app = typer.Typer(help="FHIR R4 export and import.", no_args_is_help=True)


def _clinic_of(db: Session, patient: int | None, clinic: int | None) -> int:
    from sqlalchemy import select

    from ketacare.features.clinics.models import Clinic
    from ketacare.features.patients.models import Patient

    if (patient is None) == (clinic is None):
        raise fail("give exactly one of --patient ID or --clinic ID")
    if patient is not None:
        pid = db.execute(select(Patient.clinic_id).where(Patient.id == patient)).scalar()
        if pid is None:
            raise fail(f"--patient: no patient {patient}")
        return int(pid)
    if db.get(Clinic, clinic) is None:
        raise fail(f"--clinic: no clinic {clinic}")
    assert clinic is not None
    return clinic


@fhir_app.command("export")
def export(
    patient: Annotated[int | None, typer.Option("--patient", help="One patient's id.")] = None,
    clinic: Annotated[int | None, typer.Option("--clinic", help="A whole clinic's id.")] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="File to write (default stdout).")
    ] = None,
) -> None:
    """Export one patient or a whole clinic as an R4 collection Bundle (JSON).

    The file appears only once the audit event naming every exported patient is committed.
    """
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features._kit.files import staged
    from ketacare.features.audit.service import record
    from ketacare.features.auth.actor import Actor
    from ketacare.features.interop.exporter import export_bundle

    settings = load_settings()
    with (
        nullcontext(None) if out is None else staged(out) as tmp,
        unit_of_work(get_engine(settings.database_url)) as db,
    ):
        clinic_id = _clinic_of(db, patient, clinic)
        base = settings.public_url.rstrip("/") + "/fhir"
        bundle, ids = export_bundle(db, clinic_id, base, patient)
        text = json.dumps(bundle, indent=2, ensure_ascii=False) + "\n"
        if tmp is not None:
            tmp.write_text(text, encoding="utf-8")
        record(db, Actor.cli(clinic_id), "export", "fhir.Bundle", bundle["id"],
               ids[0] if len(ids) == 1 else None, patients=ids)  # fmt: skip
    if out is None:
        sys.stdout.write(text)
    typer.echo(f"exported {len(ids)} patient(s), {len(bundle['entry'])} resource(s)", err=True)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def import_file(engine: Engine, clinic_id: int, path: Path) -> ImportReport:
    """Import one bundle file in its own transaction (nothing is kept if it fails).

    Every way a file can fail is a BundleError naming it: unreadable or invalid JSON (also
    ``NaN``/``Infinity`` and nesting too deep to decode), a refused entry, or a database error
    (reported by its class only: SQL parameters may carry patient data)."""
    from sqlalchemy.exc import SQLAlchemyError

    from ketacare.db.engine import unit_of_work
    from ketacare.features.auth.actor import Actor
    from ketacare.features.interop.importer import import_bundle
    from ketacare.fhir.reader import BundleError

    try:
        data: Any = json.loads(path.read_bytes(), parse_constant=_no_constant)
    except RecursionError:
        raise BundleError("cannot read JSON: nested too deeply") from None
    except (OSError, ValueError) as exc:
        raise BundleError(f"cannot read JSON: {exc}") from None
    try:
        with unit_of_work(engine) as db:
            return import_bundle(db, clinic_id, data, path.name, Actor.cli(clinic_id))
    except SQLAlchemyError as exc:
        raise BundleError(f"the database refused it ({type(exc).__name__})") from None
    except (RecursionError, OverflowError) as exc:
        raise BundleError(f"cannot be read ({type(exc).__name__})") from None


def _summary(reports: list[ImportReport], failed: list[tuple[str, str]]) -> Table:
    from rich.table import Table

    table = Table(title="FHIR import")
    for col in (
        "file",
        "resources",
        "patients new",
        "matched",
        "totals",
        "responses",
        "diagnoses",
        "already imported",
    ):
        table.add_column(col, justify="left" if col == "file" else "right")
    for r in reports:
        table.add_row(
            r.source,
            str(r.resources),
            str(r.patients_created),
            str(r.patients_matched),
            str(r.totals),
            str(r.responses),
            str(r.diagnoses),
            str(r.already_imported),
        )
    for name in dict.fromkeys(name for name, _ in failed):
        table.add_row(name, "REFUSED", "-", "-", "-", "-", "-", "-")
    return table


@fhir_app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="R4 transaction or collection bundles.")],
    clinic: Annotated[
        int | None, typer.Option("--clinic", help="Clinic id (default: the installation's clinic).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar.")] = True,
    report: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Write the JSON report: per file, every skipped or refused entry (fullUrl, "
            "reason).",
        ),
    ] = None,
) -> None:
    """Import bundles: one transaction each. A refused bundle adds nothing, is reported with
    every refused entry, and the other files are still imported (exit 2 if any was refused)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.clinics.models import Clinic
    from ketacare.features.clinics.repository import get_or_create
    from ketacare.features.interop.importer import refused_report
    from ketacare.fhir.reader import BundleError

    settings = load_settings()
    engine = get_engine(settings.database_url)
    with unit_of_work(engine) as db:
        if clinic is None:
            clinic_id = get_or_create(db, settings.public_clinic, settings.clinic_name).id
        elif db.get(Clinic, clinic) is None:
            raise fail(f"--clinic: no clinic {clinic}")
        else:
            clinic_id = clinic
    console = Console(stderr=True)
    reports: list[ImportReport] = []
    failed: list[tuple[str, str]] = []
    details: list[dict[str, Any]] = []
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        disable=not progress,
    )
    with bar if progress else nullcontext(bar):
        task = bar.add_task("importing", total=len(files))
        for path in files:
            bar.update(task, description=path.name[:40])
            try:
                reports.append(import_file(engine, clinic_id, path))
                details.append(reports[-1].as_dict())
            except BundleError as exc:
                failed += [(path.name, f"{n.where()}: {n.reason}") for n in exc.problems]
                details.append(refused_report(path.name, exc))
            bar.advance(task)
    out = Console(width=120, file=sys.stdout)
    out.print(_summary(reports, failed))
    skipped: dict[str, int] = {}
    for r in reports:
        for reason, n in r.skipped.items():
            skipped[reason] = skipped.get(reason, 0) + n
    added = sum(r.added for r in reports)
    again = sum(r.already_imported + r.patients_matched for r in reports)
    typer.echo(
        f"imported: {added} record(s) from {len(reports)} bundle(s); already imported: {again}"
    )
    for reason, n in sorted(skipped.items()):
        typer.echo(f"skipped {n}: {reason}")
    for r in reports:
        for w in r.warnings:
            typer.echo(f"warning: {r.source}: {w}")
    for name, reason in failed:
        typer.echo(f"error: {name}: {reason} (nothing imported from this file)", err=True)
    if report is not None:
        text = json.dumps({"files": details}, indent=2, ensure_ascii=False) + "\n"
        report.write_text(text, encoding="utf-8")
    if failed:
        raise typer.Exit(2)


def research_export(
    clinic: Annotated[int, typer.Option("--clinic", help="Clinic id.")],
    kind: Annotated[str, typer.Option("--kind", help="assessments or sessions.")] = "assessments",
    deidentify: Annotated[
        bool,
        typer.Option(
            "--deidentify", help="Drop direct identifiers and shift each patient's dates."
        ),
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="File (default stdout).")] = None,
) -> None:
    """Research CSV of a clinic's assessments or sessions (audited)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features._kit.files import staged
    from ketacare.features.audit.service import record
    from ketacare.features.auth.actor import Actor
    from ketacare.features.clinics.models import Clinic
    from ketacare.features.interop.research import Deidentifier, write_csv

    if kind not in ("assessments", "sessions"):
        raise fail("--kind: must be assessments or sessions")
    settings = load_settings()
    deid = Deidentifier(settings.secret_key.get_secret_value().encode()) if deidentify else None
    buffer = io.StringIO()
    with (
        nullcontext(None) if out is None else staged(out) as tmp,
        unit_of_work(get_engine(settings.database_url)) as db,
    ):
        if db.get(Clinic, clinic) is None:
            raise fail(f"--clinic: no clinic {clinic}")
        ctx: Any = tmp.open("w", encoding="utf-8", newline="") if tmp else nullcontext(buffer)
        with ctx as fh:
            stream: TextIO = fh
            n, patients = write_csv(db, clinic, kind, stream, deid)
        action = "export-deidentified" if deid else "export"
        record(db, Actor.cli(clinic), action, f"research.{kind}", clinic, patients=patients)
    if out is None:
        sys.stdout.write(buffer.getvalue())
    typer.echo(f"wrote {n} row(s)", err=True)
