"""``ketacare report patient|clinic`` and the database mode of ``ketacare analytics outcomes``.

Both act on the installation's clinic (``KETACARE_PUBLIC_CLINIC``); reports and database
reads are audited with channel ``cli``. Bad input exits with status 2 and names it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from ketacare.features._kit.cli import fail, load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from ketacare.domain.analytics import AssessmentTable, PatientTable, SessionTable
    from ketacare.features.clinics.models import Clinic

report_app = typer.Typer(
    help="Patient progress and clinic outcomes reports (PDF).", no_args_is_help=True
)


def _clinic(db: Session, slug: str) -> Clinic:
    from ketacare.features.clinics.repository import by_slug

    clinic = by_slug(db, slug)
    if clinic is None:
        raise fail(f"no clinic '{slug}' in the database; run 'ketacare demo seed' first")
    return clinic


def cohort_loader(instrument: str) -> tuple[AssessmentTable, SessionTable, PatientTable | None]:
    """Database mode of ``ketacare analytics outcomes``: the clinic's tables (audited)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.audit.service import record
    from ketacare.features.auth.actor import Actor
    from ketacare.features.reports.service import load_cohort

    settings = load_settings()
    with unit_of_work(get_engine(settings.database_url)) as db:
        clinic = _clinic(db, settings.public_clinic)
        cohort = load_cohort(db, clinic.id, instrument)
        record(db, Actor.cli(clinic.id), "read", "clinic_outcomes", instrument)
    if cohort.n_synthetic:
        typer.echo(
            f"note: {cohort.n_synthetic} of {cohort.n_treated} patients are synthetic", err=True
        )
    return cohort.assessments, cohort.sessions, cohort.patients


def _write(out: Path, body: bytes) -> None:
    """Write the PDF (owner-only) after the transaction that audited it has committed."""
    from ketacare.features._kit.files import staged

    try:
        with staged(out) as tmp:
            tmp.write_bytes(body)
    except OSError as exc:
        raise fail(f"--pdf: cannot write {out} ({exc.strerror})") from None


def _date(option: str, text: str | None) -> date | None:
    from ketacare.features._kit.dates import parse_day
    from ketacare.features._kit.errors import BadRequest

    if text is None or not text.strip():
        return None
    try:
        return parse_day(text, option)
    except BadRequest as exc:
        raise fail(f"{option}: {text!r}: {exc.reason}") from None


@report_app.command("patient")
def report_patient(
    patient_id: Annotated[int, typer.Argument(metavar="ID", help="Patient id.")],
    out: Annotated[Path, typer.Option("--pdf", help="PDF file to write.")],
) -> None:
    """Write one patient's progress report (trajectory, sessions, outcome, notes) as PDF."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features._kit import clock
    from ketacare.features._kit.errors import NotFound
    from ketacare.features.auth.actor import Actor
    from ketacare.features.patients.service import get_patient
    from ketacare.features.reports.patient import patient_progress

    settings = load_settings()
    if not 1 <= patient_id <= 2_147_483_647:
        raise fail(f"ID: no patient {patient_id} in this clinic")
    with unit_of_work(get_engine(settings.database_url)) as db:
        clinic = _clinic(db, settings.public_clinic)
        try:
            patient = get_patient(db, clinic.id, patient_id)
        except NotFound:
            raise fail(f"ID: no patient {patient_id} in this clinic") from None
        tz = clock.clinic_tz(clinic, settings.timezone).key
        report = patient_progress(db, Actor.cli(clinic.id), patient, "export")
        from ketacare.features.reports import pdf  # fpdf2 with the first PDF (Hot paths)

        body = pdf.patient_pdf(report, clinic.name, tz)
    _write(out, body)
    typer.echo(f"patient report written to {out}")


@report_app.command("clinic")
def report_clinic(
    out: Annotated[Path, typer.Option("--pdf", help="PDF file to write.")],
    start: Annotated[
        str | None, typer.Option("--from", help="First session on or after (YYYY-MM-DD).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="First session on or before (YYYY-MM-DD).")
    ] = None,
    instrument: Annotated[str, typer.Option("--instrument", help="e.g. phq9, madrs.")] = "phq9",
) -> None:
    """Write the clinic outcomes report for patients whose first session is in the period."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features._kit import clock
    from ketacare.features._kit.errors import BadRequest
    from ketacare.features.auth.actor import Actor
    from ketacare.features.reports.service import clinic_outcomes_for

    settings = load_settings()
    lo, hi = _date("--from", start), _date("--to", end)
    if lo is not None and hi is not None and hi < lo:
        raise fail("--to: must not be before --from")
    with unit_of_work(get_engine(settings.database_url)) as db:
        clinic = _clinic(db, settings.public_clinic)
        try:
            result = clinic_outcomes_for(
                db, Actor.cli(clinic.id), instrument, lo, hi, action="export"
            )
        except BadRequest as exc:
            raise fail(f"--{exc.field}: {exc.reason}") from None
        period = (
            "All treated patients"
            if lo is None and hi is None
            else (f"Patients whose first session was {lo or '…'} to {hi or '…'}")
        )
        from ketacare.features.reports import pdf  # fpdf2 with the first PDF (Hot paths)

        body = pdf.clinic_pdf(
            result, clinic.name, period, clock.clinic_tz(clinic, settings.timezone).key
        )
    _write(out, body)
    n = 0 if result.analysis is None else result.analysis.overall.n_patients
    typer.echo(f"clinic report ({n} patients) written to {out}")
