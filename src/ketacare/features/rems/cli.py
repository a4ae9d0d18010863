"""``ketacare rems``: the PMF dashboard and the check of a submitted PMF against its hash.

The feature's code is imported inside each command: ``ketacare rems --help`` loads Typer
alone (docs/architecture.md, "CLI start-up")."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from ketacare.features._kit.cli import fail, load_settings

app = typer.Typer(
    help="SPRAVATO REMS: setting registry, enrolment, PMF dashboard and submission",
    no_args_is_help=True,
)

ClinicOpt = Annotated[str | None, typer.Option(help="Clinic slug (default: the public one).")]


@app.command("dashboard")
def dashboard(
    clinic: ClinicOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """PMFs overdue, due and submitted at the clinic's setting (audited)."""
    from ketacare.db.base import utcnow
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.auth.actor import Actor
    from ketacare.features.clinics.repository import by_slug
    from ketacare.features.rems import service

    settings = load_settings()
    slug = (clinic or settings.public_clinic).strip().lower()
    with unit_of_work(get_engine(settings.database_url)) as db:
        row = by_slug(db, slug)
        if row is None:
            raise fail(f"--clinic: no clinic '{slug}'")
        board = service.dashboard(db, Actor.cli(row.id), row.id, settings, utcnow())
        counts = {k: board.count(k) for k in ("overdue", "due", "submitted")}
        if as_json:
            forms = [
                {
                    "session_id": r.session_id,
                    "deadline": r.deadline.isoformat(),
                    "status": r.status,
                }
                for r in board.rows
            ]
            typer.echo(
                json.dumps({"today": board.today.isoformat(), "counts": counts, "forms": forms})
            )
            return
        typer.echo(" ".join(f"{k}={v}" for k, v in counts.items()))
        for r in board.rows:
            typer.echo(f"session {r.session_id}\t{r.deadline.isoformat()}\t{r.status}")


@app.command("verify")
def verify(
    session: Annotated[int, typer.Option(min=1, max=2_147_483_647, help="Session id.")],
    clinic: ClinicOpt = None,
) -> None:
    """Check a submitted PMF's stored PDF against its recorded SHA-256 (exit 1 on mismatch)."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.audit.service import record
    from ketacare.features.auth.actor import Actor
    from ketacare.features.clinics.repository import by_slug
    from ketacare.features.rems import queries, service

    settings = load_settings()
    slug = (clinic or settings.public_clinic).strip().lower()
    with unit_of_work(get_engine(settings.database_url)) as db:
        row = by_slug(db, slug)
        if row is None:
            raise fail(f"--clinic: no clinic '{slug}'")
        sub = queries.submission_of(db, session)
        if sub is None or sub.clinic_id != row.id:
            raise fail(f"--session: no submitted PMF for session {session}")
        ok = service.verify_submission(sub)
        record(
            db, Actor.cli(row.id), "verify", "rems_pmf_submission", sub.pdf_sha256, clinic_id=row.id
        )
    typer.echo(f"session {session}: sha256 {sub.pdf_sha256} {'OK' if ok else 'MISMATCH'}")
    if not ok:
        raise typer.Exit(1)
