"""``ketacare score``: score one response or a CSV of responses, from the domain alone.

Kept apart from :mod:`ketacare.features.instruments.cli` so that scoring imports no database,
FHIR or web code and the command starts fast (benchmarks/cli_startup.py).
"""

from __future__ import annotations

import csv
import io
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import (
    Instrument,
    ScoreContext,
    ScoringConfig,
    config_from_dict,
    get_instrument,
)
from ketacare.domain.instruments import (
    score as score_answers,
)

BLANK = {"", "-", "na", "NA"}


def fail(message: str) -> typer.Exit:
    """Print ``message`` to stderr and return an exit-2 signal to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def _read_json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise fail(f"{what}: cannot read {path} ({exc.strerror})") from None
    except json.JSONDecodeError as exc:
        raise fail(f"{what}: {path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None


def _instrument(instrument_id: str) -> Instrument:
    try:
        return get_instrument(instrument_id)
    except InvalidAnswer as exc:
        raise fail(str(exc)) from None


def _config(path: Path | None) -> ScoringConfig | None:
    if path is None:
        return None
    raw = _read_json(path, "config")
    if not isinstance(raw, Mapping):
        raise fail("config: must be a JSON object")
    try:
        return config_from_dict(raw)
    except InvalidAnswer as exc:
        raise fail(str(exc)) from None


def _parse_answer(token: str) -> int | None:
    token = token.strip()
    if token in BLANK:
        return None
    try:
        return int(token)
    except ValueError:
        return token  # type: ignore[return-value]  # score() names the item and rejects it


def score(
    instrument_id: Annotated[str, typer.Argument(metavar="ID", help="Instrument id.")],
    answers: Annotated[
        list[str] | None,
        typer.Argument(metavar="[A1 A2 ...]", help="Answers in item order; '-' for blank."),
    ] = None,
    csv_in: Annotated[
        Path | None, typer.Option("--csv", help="CSV with one response per row.")
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output CSV (default stdout).")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Clinic scoring configuration (JSON).")
    ] = None,
    days_since_last_visit: Annotated[
        int | None, typer.Option(help="C-SSRS since-last-visit interval.")
    ] = None,
    pre_dose: Annotated[int | None, typer.Option(help="MOAA/S pre-dose level.")] = None,
) -> None:
    """Score one response (prints JSON) or a CSV file of responses."""
    _instrument(instrument_id)
    cfg = _config(config)
    ctx = ScoreContext(days_since_last_visit=days_since_last_visit, pre_dose_score=pre_dose)
    if csv_in is not None:
        if answers:
            raise fail("give answers or --csv, not both")
        _score_csv(instrument_id, csv_in, out, cfg, ctx)
        return
    if not answers:
        raise fail("give the answers in item order, or --csv FILE")
    try:
        result = score_answers(instrument_id, [_parse_answer(a) for a in answers], cfg, ctx)
    except InvalidAnswer as exc:
        raise fail(str(exc)) from None
    typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))


def _columns(inst: Instrument, header: list[str]) -> list[int | None]:
    """For each item, the CSV column holding it (by id, or by ``<instrument>.<id>``)."""
    where = {h.strip(): n for n, h in enumerate(header)}
    cols = [where.get(it.id, where.get(f"{inst.id}.{it.id}")) for it in inst.items]
    for it, col in zip(inst.items, cols, strict=True):
        if col is None and it.required:
            raise fail(f"{inst.id}.{it.id}: no CSV column named {it.id!r}")
    return cols


def _score_csv(
    instrument_id: str,
    path: Path,
    out: Path | None,
    cfg: ScoringConfig | None,
    ctx: ScoreContext,
) -> None:
    inst = get_instrument(instrument_id)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise fail(f"csv: cannot read {path} ({exc.strerror})") from None
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        raise fail(f"csv: {path} is empty")
    header, body = rows[0], rows[1:]
    cols = _columns(inst, header)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*header, "total", "band", "flags", "error"])
    bad = 0
    console = Console(stderr=True)
    progress = Progress(
        TextColumn(f"scoring {instrument_id}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        for line, row in enumerate(progress.track(body, total=len(body)), start=2):
            if not any(cell.strip() for cell in row):
                continue
            values = [None if c is None or c >= len(row) else _parse_answer(row[c]) for c in cols]
            try:
                r = score_answers(instrument_id, values, cfg, ctx)
            except InvalidAnswer as exc:
                bad += 1
                typer.echo(f"line {line}: {exc}", err=True)
                writer.writerow([*row, "", "", "", str(exc)])
                continue
            total = "" if r.total is None else str(r.total)
            writer.writerow([*row, total, r.band or "", ";".join(sorted(r.flags)), ""])
    if out is None:
        sys.stdout.write(buffer.getvalue())
    else:
        out.write_text(buffer.getvalue(), encoding="utf-8")
    scored = sum(1 for row in body if any(cell.strip() for cell in row)) - bad
    typer.echo(f"scored {scored} rows, {bad} bad", err=True)
    if bad:
        raise typer.Exit(2)
