"""``ketacare audit verify|anchor|export``.

The feature's code is imported inside each command: ``ketacare audit --help`` loads Typer
alone (docs/architecture.md, "CLI start-up")."""

from __future__ import annotations

import csv
import hmac
import io
import json
import os
import sys
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, TextIO

import typer

from ketacare.features._kit.cli import fail, load_settings

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


@dataclass(frozen=True, slots=True)
class Anchor:
    """A signed checkpoint of the chain: event ``seq`` had hash ``hash`` at time ``at``."""

    seq: int
    hash: str
    keyed_from: int
    at: str
    mac: str


def _read_anchors(path: Path, key: bytes) -> list[Anchor]:
    from ketacare.features.audit.chain import anchor_mac

    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise fail(f"--anchors: cannot read {path} ({exc.strerror})") from None
    out = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
            anchor = Anchor(
                int(raw["seq"]), str(raw["hash"]), int(raw["keyed_from"]), str(raw["at"]),
                str(raw["mac"]),
            )  # fmt: skip
        except (ValueError, KeyError, TypeError):
            raise fail(f"--anchors: line {n} is not an anchor") from None
        want = anchor_mac(key, anchor.seq, anchor.hash, anchor.keyed_from, anchor.at)
        if not hmac.compare_digest(want, anchor.mac):
            raise fail(f"--anchors: line {n} is not signed with this installation's audit key")
        out.append(anchor)
    return out


def check_anchors(db: Session, anchors: list[Anchor]) -> str | None:
    """The first anchor the log no longer extends, as a reason (None: it extends them all)."""
    from ketacare.features.audit.service import event_hash_at, head

    seq, _digest, keyed_from = head(db)
    for a in anchors:
        if a.keyed_from != keyed_from:
            return (
                f"anchor of {a.at} (event {a.seq}): the switch to keyed hashes was at event "
                f"{a.keyed_from}, the database now says {keyed_from}"
            )
        if seq < a.seq:
            return (
                f"anchor of {a.at} (event {a.seq}): the log now ends at event {seq} "
                "(events were removed)"
            )
        stored = event_hash_at(db, a.seq)
        if stored != a.hash:
            return (
                f"anchor of {a.at} (event {a.seq}): "
                + ("the event is missing" if stored is None else "the event's hash differs")
                + " (the log was rewritten)"
            )
    return None


@audit_app.command("verify")
def audit_verify(
    anchors: Annotated[
        Path | None,
        typer.Option(
            "--anchors", help="File of anchors written by 'ketacare audit anchor' to check too."
        ),
    ] = None,
) -> None:
    """Check the chain (and every anchor); exit 1 naming the first broken event."""
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.audit.service import verify_chain

    settings = load_settings()
    key = settings.audit_key.get_secret_value().encode()
    checkpoints = _read_anchors(anchors, key) if anchors else []
    with unit_of_work(get_engine(settings.database_url)) as db:
        report = verify_chain(db)
        anchor_problem = check_anchors(db, checkpoints) if report.ok else None
    if not report.ok:
        typer.echo(
            f"audit log BROKEN at event {report.first_broken_seq}: {report.reason} "
            f"({report.checked} events before it are intact)",
            err=True,
        )
        raise typer.Exit(1)
    if anchor_problem:
        typer.echo(f"audit log BROKEN: {anchor_problem}", err=True)
        raise typer.Exit(1)
    unkeyed = min(report.keyed_from - 1, report.checked)
    typer.echo(
        f"audit log intact: {report.checked} events"
        + (f" ({unkeyed} written before keying, SHA-256 only)" if unkeyed > 0 else "")
        + (f"; extends all {len(checkpoints)} anchors" if anchors else "")
    )


@audit_app.command("anchor")
def audit_anchor(
    out: Annotated[
        Path | None,
        typer.Option("--out", help="File to append the anchor to (default: stdout)."),
    ] = None,
) -> None:
    """Write a signed checkpoint (seq, hash, time) of the chain as one JSON line.

    Keep anchors outside the database and its backups (another host, write-once storage,
    syslog); 'ketacare audit verify --anchors FILE' then proves the log still extends them.
    """
    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features.audit.chain import anchor_mac
    from ketacare.features.audit.service import head, verify_chain

    settings = load_settings()
    key = settings.audit_key.get_secret_value().encode()
    with unit_of_work(get_engine(settings.database_url)) as db:
        report = verify_chain(db)
        seq, digest, keyed_from = head(db)
    if not report.ok:
        typer.echo(f"audit log BROKEN at event {report.first_broken_seq}: not anchored", err=True)
        raise typer.Exit(1)
    at = datetime.now(UTC).isoformat(timespec="seconds")
    line = {
        "seq": seq, "hash": digest, "keyed_from": keyed_from, "at": at,
        "mac": anchor_mac(key, seq, digest, keyed_from, at),
    }  # fmt: skip
    text = json.dumps(line, sort_keys=True) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    try:
        fd = os.open(out, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as exc:
        raise fail(f"--out: cannot write {out} ({exc.strerror})") from None
    typer.echo(f"anchored event {seq} in {out}", err=True)


def _day(value: str, option: str) -> date:
    from ketacare.features._kit.dates import parse_day
    from ketacare.features._kit.errors import BadRequest

    try:
        return parse_day(value, option)
    except BadRequest as exc:
        raise fail(f"{option}: {exc.reason}") from None


@audit_app.command("export")
def audit_export(
    from_: Annotated[str, typer.Option("--from", help="First day (YYYY-MM-DD, UTC).")],
    to: Annotated[str, typer.Option("--to", help="Last day, inclusive (YYYY-MM-DD, UTC).")],
    out: Annotated[Path | None, typer.Option(help="File to write (default: stdout).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv or jsonl.")] = "csv",
) -> None:
    """Write the events of a date range, with their hashes, as CSV or JSON lines."""
    from sqlalchemy import select

    from ketacare.db.engine import get_engine, unit_of_work
    from ketacare.features._kit.files import staged
    from ketacare.features.audit.chain import FIELDS
    from ketacare.features.audit.models import AuditEvent
    from ketacare.features.audit.service import record
    from ketacare.features.auth.actor import Actor

    columns = (*FIELDS, "prev_hash", "hash")
    start, end = _day(from_, "--from"), _day(to, "--to")
    if end < start:
        raise fail("--to: must not be before --from")
    if fmt not in {"csv", "jsonl"}:
        raise fail("--format: must be csv or jsonl")
    lo = datetime.combine(start, time.min, tzinfo=UTC)
    hi = datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC)
    settings = load_settings()
    buffer = io.StringIO()
    n = 0
    patients: set[int] = set()
    with nullcontext(None) if out is None else staged(out) as tmp:
        stream: TextIO = tmp.open("w", newline="", encoding="utf-8") if tmp else buffer
        with stream, unit_of_work(get_engine(settings.database_url)) as db:
            table = AuditEvent.__table__
            rows = db.execute(
                select(table).where(table.c.at >= lo, table.c.at < hi).order_by(table.c.seq)
            ).mappings()
            writer = (
                csv.DictWriter(stream, columns, extrasaction="ignore") if fmt == "csv" else None
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
                    stream.write(json.dumps({k: values[k] for k in columns}) + "\n")
                if row["patient_id"] is not None:
                    patients.add(int(row["patient_id"]))
                patients.update(int(i) for i in str(row["patients"]).strip(",").split(",") if i)
                n += 1
            # The export discloses which patients' records were accessed: audited, by OS user.
            record(db, Actor.cli(), "export", "audit_log", f"{start}..{end}", patients=patients)
    if out:
        typer.echo(f"wrote {n} events to {out}")
    else:
        sys.stdout.write(buffer.getvalue())
