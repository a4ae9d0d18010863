"""``ketacare audit verify`` and ``ketacare audit export``."""

from __future__ import annotations

import csv
import json
import sys
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, TextIO

import typer
from sqlalchemy import select

from ketacare.db.engine import get_engine, unit_of_work
from ketacare.features.audit.chain import FIELDS
from ketacare.features.audit.models import AuditEvent
from ketacare.features.audit.service import verify_chain
from ketacare.features.system.cli import fail, load_settings

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
COLUMNS = (*FIELDS, "prev_hash", "hash")


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the hash chain; exit 1 naming the first broken event if it was tampered with."""
    settings = load_settings()
    with unit_of_work(get_engine(settings.database_url)) as db:
        report = verify_chain(db)
    if report.ok:
        typer.echo(f"audit log intact: {report.checked} events")
        return
    typer.echo(
        f"audit log BROKEN at event {report.first_broken_seq}: {report.reason} "
        f"({report.checked} events before it are intact)",
        err=True,
    )
    raise typer.Exit(1)


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise fail(f"{option}: must be a date as YYYY-MM-DD") from None


@audit_app.command("export")
def audit_export(
    from_: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, UTC).")],
    to: Annotated[str, typer.Option("--to", help="Last day, inclusive (YYYY-MM-DD, UTC).")],
    out: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
) -> None:
    """Write the events of a date range, with their hashes, as CSV or JSON lines."""
    start, end = _day(from_, "--from"), _day(to, "--to")
    if end < start:
        raise fail("--to: must not be before --from")
    if fmt not in {"csv", "jsonl"}:
        raise fail("--format: must be csv or jsonl")
    lo = datetime.combine(start, time.min, tzinfo=UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    settings = load_settings()
    stream: TextIO = out.open("w", newline="", encoding="utf-8") if out else sys.stdout
    n = 0
    try:
        with unit_of_work(get_engine(settings.database_url)) as db:
            table = AuditEvent.__table__
            rows = db.execute(
                select(table).where(table.c.at >= lo, table.c.at < hi).order_by(table.c.seq)
            ).mappings()
            writer = (
                csv.DictWriter(stream, COLUMNS, extrasaction="ignore") if fmt == "csv" else None
            )
            if writer:
                writer.writeheader()
            for row in rows:
                values = {
                    k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()
                }
                if writer:
                    writer.writerow(values)
                else:
                    stream.write(json.dumps({k: values[k] for k in COLUMNS}) + "\n")
                n += 1
    finally:
        if out:
            stream.close()
    if out:
        typer.echo(f"wrote {n} events to {out}")
