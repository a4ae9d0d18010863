"""Counts, discrepancy cases, inventories and the administration log (issue 18.6, 18.7).

Services take ``actor`` and ``now``, audit themselves and flush. Nothing here deletes: counts,
cases and inventories are kept with the ledger for at least ``KETACARE_CS_RETENTION_YEARS``
(ketacare never deletes them at all).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime, Select, bindparam, func, select, tuple_, type_coerce
from sqlalchemy.orm import Session

from ketacare.domain.compliance import controlled as rules
from ketacare.features._kit import clock
from ketacare.features._kit.errors import BadRequest, NotFound
from ketacare.features.audit import service as audit
from ketacare.features.auth.actor import Actor
from ketacare.features.controlled.config import CsSettings
from ketacare.features.controlled.models import (
    CsCase,
    CsContainer,
    CsCount,
    CsEvent,
    CsInventory,
)
from ketacare.features.controlled.service import (
    Witness,
    lock_container,
    registration,
    require_role,
)
from ketacare.features.patients.models import Patient, format_address

# --- counts and discrepancy cases ------------------------------------------------------------


def record_count(
    db: Session,
    actor: Actor,
    settings: CsSettings,
    now: datetime,
    tz: str,
    container_id: int,
    counted_ug: int,
    *,
    witnessed_by: Witness | None = None,
    significant: bool = False,
) -> CsCount:
    """Count one container against the ledger; a difference opens a discrepancy case.

    ``significant`` (theft or significant loss, the registrant's judgement) starts the DEA
    timers on the case: notice within one business day, Form 106 within 45 days.
    """
    user = require_role(actor, settings, "administer")
    c = lock_container(db, actor.clinic_id, container_id)
    if counted_ug < 0 or counted_ug > c.full_ug:
        raise BadRequest("between 0 and the container's full quantity", "counted_mg")
    row = CsCount(
        clinic_id=c.clinic_id,
        registration_id=c.registration_id,
        container_id=c.id,
        expected_ug=c.balance_ug,
        counted_ug=counted_ug,
        counted_at=now,
        by_id=user.id,
        by_email=user.email,
        witness_email=witnessed_by.user.email if witnessed_by else "",
    )
    if counted_ug != c.balance_ug:
        row.case_id = open_case(
            db, actor, now, tz, c, counted_ug - c.balance_ug, significant=significant
        ).id
    db.add(row)
    db.flush()
    audit.record(db, actor, "create", "cs_count", row.id)
    return row


def open_case(
    db: Session,
    actor: Actor,
    now: datetime,
    tz: str,
    c: CsContainer,
    difference_ug: int,
    *,
    significant: bool = False,
) -> CsCase:
    """Open a discrepancy case on container ``c`` (difference: counted - expected)."""
    case = CsCase(
        clinic_id=c.clinic_id,
        registration_id=c.registration_id,
        container_id=c.id,
        discovered_at=now,
        difference_ug=difference_ug,
        significant=False,
        opened_by_email=actor.label,
    )
    db.add(case)
    if significant:
        _mark_significant(case, now, tz)
    db.flush()
    audit.record(db, actor, "create", "cs_case", case.id)
    return case


def _mark_significant(case: CsCase, now: datetime, tz: str) -> None:
    day = clock.local_date(case.discovered_at, tz) or now.date()
    case.significant = True
    case.notice_due, case.form106_due = rules.loss_deadlines(day)


def update_case(
    db: Session,
    actor: Actor,
    settings: CsSettings,
    now: datetime,
    tz: str,
    case_id: int,
    *,
    investigation: str | None = None,
    resolution: str | None = None,
    significant: bool | None = None,
    notice_sent: bool = False,
    form106_filed: bool = False,
    close: bool = False,
) -> CsCase:
    """Add the investigation, mark it significant, record the notice/Form 106, close it."""
    require_role(actor, settings, "manage")
    case = db.get(CsCase, case_id, with_for_update=True)
    if case is None or case.clinic_id != actor.clinic_id:
        raise NotFound("no such case", "case_id")
    if case.closed_at is not None:
        raise BadRequest("the case is closed", "case_id")
    if investigation is not None:
        case.investigation = investigation.strip()[:8000]
    if resolution is not None:
        case.resolution = resolution.strip()[:8000]
    if significant and not case.significant:
        _mark_significant(case, now, tz)
    if notice_sent and case.notice_sent_at is None:
        case.notice_sent_at = now
    if form106_filed and case.form106_filed_at is None:
        case.form106_filed_at = now
    if close:
        if not case.resolution:
            raise BadRequest("write the resolution before closing", "resolution")
        if case.significant and (case.notice_sent_at is None or case.form106_filed_at is None):
            raise BadRequest(
                "a significant loss closes after the DEA notice and Form 106", "form106_filed"
            )
        case.closed_at, case.closed_by_email = now, actor.label
    db.flush()
    audit.record(db, actor, "update", "cs_case", case.id)
    return case


@dataclass(frozen=True)
class CaseTimer:
    """An open case as the dashboard shows it."""

    id: int
    container: str
    difference_mg: str
    significant: bool
    notice_due: date | None
    form106_due: date | None
    notice_overdue: bool
    form106_overdue: bool


def open_cases(db: Session, clinic_id: int | None, today: date) -> list[CaseTimer]:
    """Open discrepancy cases with their DEA timers (overdue flags as of ``today``)."""
    rows = db.execute(
        select(CsCase, CsContainer.label)
        .outerjoin(CsContainer, CsContainer.id == CsCase.container_id)
        .where(CsCase.clinic_id == clinic_id, CsCase.closed_at.is_(None))
        .order_by(CsCase.discovered_at)
    ).all()
    return [
        CaseTimer(
            id=case.id,
            container=label or "",
            difference_mg=rules.fmt_mg(case.difference_ug),
            significant=case.significant,
            notice_due=case.notice_due,
            form106_due=case.form106_due,
            notice_overdue=bool(
                case.notice_due and case.notice_sent_at is None and today > case.notice_due
            ),
            form106_overdue=bool(
                case.form106_due and case.form106_filed_at is None and today > case.form106_due
            ),
        )
        for case, label in rows
    ]


# --- inventories -----------------------------------------------------------------------------


def take_inventory(
    db: Session,
    actor: Actor,
    settings: CsSettings,
    now: datetime,
    registration_id: int,
    kind: str,
    timing: str,
    estimates: dict[str, int] | None = None,
) -> CsInventory:
    """An initial/biennial/annual inventory of a registration, signed by the actor.

    Lists every container not closed: drug, product, form, strength, units per container,
    lot, balance (mg, mL). ``estimates`` (label -> micrograms) records an estimated count for
    an opened container (allowed for CIII, 21 CFR 1304.11(e)(3)); the ledger balance is listed
    beside it. An initial inventory may be zero.
    """
    user = require_role(actor, settings, "manage")
    reg = registration(db, actor.clinic_id, registration_id)
    if kind not in ("initial", "biennial", "annual"):
        raise BadRequest("initial, biennial or annual", "kind")
    if timing not in ("opening", "close"):
        raise BadRequest("opening or close (of business)", "timing")
    estimates = estimates or {}
    lines = inventory_lines(db, reg.id)
    labels = {line["label"] for line in lines}
    for label, ug in estimates.items():
        if label not in labels:
            raise BadRequest(f"no open container {label}", "estimates")
        if ug < 0:
            raise BadRequest("an estimate is never negative", "estimates")
    for line in lines:
        if line["label"] in estimates:
            line["estimated_ug"] = estimates[line["label"]]
    inv = CsInventory(
        clinic_id=reg.clinic_id,
        registration_id=reg.id,
        kind=kind,
        timing=timing,
        taken_at=now,
        lines=lines,
        signed_by_id=user.id,
        signed_by_email=user.email,
    )
    db.add(inv)
    db.flush()
    audit.record(db, actor, "create", "cs_inventory", inv.id)
    return inv


def inventory_lines(db: Session, registration_id: int) -> list[dict[str, Any]]:
    """Every container of the registration that is not closed, with its ledger balance."""
    rows = db.execute(
        select(CsContainer)
        .where(CsContainer.registration_id == registration_id, CsContainer.status != "closed")
        .order_by(CsContainer.drug, CsContainer.label)
    ).scalars()
    return [
        {
            "label": c.label,
            "drug": c.drug,
            "product": c.product,
            "form": c.form,
            "strength_mg_ml": c.concentration_mg_ml,
            "container_ug": c.full_ug,
            "lot": c.lot,
            "expiry": c.expiry.isoformat(),
            "status": c.status,
            "opened": c.balance_ug < c.full_ug,
            "balance_ug": c.balance_ug,
            "balance_ml": rules.ml(c.balance_ug, c.concentration_mg_ml),
        }
        for c in rows
    ]


def inventory(db: Session, clinic_id: int | None, inventory_id: int) -> CsInventory:
    """A stored inventory of the clinic (else 404)."""
    inv = db.get(CsInventory, inventory_id)
    if inv is None or inv.clinic_id != clinic_id:
        raise NotFound("no such inventory", "inventory_id")
    return inv


# --- the administration log ------------------------------------------------------------------

LOG_COLUMNS = (
    "occurred_at", "kind", "container", "drug", "product", "lot", "qty_mg", "qty_ml",
    "balance_mg", "patient", "patient_address", "session_id", "by", "witness", "method",
    "note", "corrects",
)  # fmt: skip
#: Rows per page of the log (page and API); the cursor names the last row shown.
LOG_PAGE = 200
#: Events a PDF of the log may hold (about 400 pages); longer ranges are for the CSV.
PDF_MAX_ROWS = 20_000
#: Rows fetched per round trip when a whole range is streamed (server-side cursor).
STREAM_BATCH = 2000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_CURSOR_RE = re.compile(r"^([0-9]{1,17})\.([0-9]{1,10})$")

# Core columns, not ORM entities: the 2-year log of a busy clinic is ~500,000 rows.
_LOG_COLUMNS = (
    CsEvent.id,
    # the plain type: no per-row decorator call (hundreds of thousands of rows); _utc()
    # makes SQLite's naive values aware
    type_coerce(CsEvent.occurred_at, DateTime(timezone=True)).label("occurred_at"),
    CsEvent.kind,
    CsContainer.label,
    CsContainer.drug,
    CsContainer.product,
    CsContainer.lot,
    CsEvent.qty_ug,
    CsContainer.concentration_mg_ml,
    CsEvent.balance_ug,
    CsEvent.patient_id,
    Patient.family_name,
    Patient.given_name,
    Patient.address_line,
    Patient.city,
    Patient.state,
    Patient.postal_code,
    CsEvent.session_id,
    CsEvent.by_email,
    CsEvent.witness_email,
    CsEvent.method,
    CsEvent.note,
    CsEvent.corrects_id,
)


@dataclass(frozen=True)
class LogRange:
    """One registration's log from ``start`` to ``end`` (clinic days, inclusive): the UTC
    bounds ``[lo, hi)``, the event kinds (all when empty) and, for an export, the last event
    id it covers (the events recorded before its audit)."""

    registration_id: int
    site: str
    dea_number: str
    start: date
    end: date
    lo: datetime
    hi: datetime
    tz: str
    kinds: tuple[str, ...] = ()
    upto_id: int | None = None


@dataclass(frozen=True)
class LogPage:
    """One page of the log and the cursor of the next (None on the last page)."""

    rows: list[dict[str, Any]]
    next: str | None


def log_range(
    db: Session,
    clinic_id: int | None,
    tz: str,
    registration_id: int,
    start: date,
    end: date,
    kinds: tuple[str, ...] = (),
) -> LogRange:
    """The range of one registration of the clinic (404 when not the clinic's; 422 naming
    ``end`` when it is before ``start``)."""
    reg = registration(db, clinic_id, registration_id)
    if end < start:
        raise BadRequest("the end is before the start", "end")
    lo, _ = clock.local_day_bounds(start, tz)
    _, hi = clock.local_day_bounds(end, tz)
    return LogRange(reg.id, reg.site_name, reg.dea_number, start, end, lo, hi, tz, kinds)


def log_statement(
    r: LogRange, after: tuple[datetime, int] | None = None
) -> Select[*tuple[Any, ...]]:
    """The log's rows in (occurred_at, id) order, after the cursor's row when given (a
    keyset: served by ``ix_cs_event_registration_at``)."""
    stmt = (
        select(*_LOG_COLUMNS)
        .join(CsContainer, CsContainer.id == CsEvent.container_id)
        .outerjoin(Patient, Patient.id == CsEvent.patient_id)
        .where(
            CsEvent.registration_id == r.registration_id,
            CsEvent.occurred_at >= r.lo,
            CsEvent.occurred_at < r.hi,
        )
        .order_by(CsEvent.occurred_at, CsEvent.id)
    )
    if r.kinds:
        stmt = stmt.where(CsEvent.kind.in_(r.kinds))
    if r.upto_id is not None:
        stmt = stmt.where(CsEvent.id <= r.upto_id)
    if after is not None:
        at = bindparam("after_at", after[0], type_=CsEvent.occurred_at.type)
        key = bindparam("after_id", after[1], type_=CsEvent.id.type)
        stmt = stmt.where(tuple_(CsEvent.occurred_at, CsEvent.id) > tuple_(at, key))
    return stmt


def encode_cursor(at: datetime, event_id: int) -> str:
    """The cursor of a row: microseconds since 1970 (UTC) and the event id."""
    return f"{(at - _EPOCH) // timedelta(microseconds=1)}.{event_id}"


def decode_cursor(text: str, field: str = "after") -> tuple[datetime, int] | None:
    """A cursor's (occurred_at, id); None for ""; 422 naming ``field`` when malformed."""
    text = text.strip()
    if not text:
        return None
    m = _CURSOR_RE.match(text)
    if m is None or not 1 <= int(m.group(2)) <= 2**63 - 1:
        raise BadRequest("not a page cursor of this log", field)
    try:
        at = _EPOCH + timedelta(microseconds=int(m.group(1)))
    except OverflowError:
        raise BadRequest("not a page cursor of this log", field) from None
    return at, int(m.group(2))


def _utc(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _log_values(row: Any, zone: ZoneInfo) -> tuple[Any, ...]:
    """A row of :func:`log_statement` as the values of :data:`LOG_COLUMNS`, in order."""
    (_, at, kind, label, drug, product, lot, qty, conc, balance, patient_id, family, given,
     line, city, state, postal, session_id, by, witness, method, note, corrects) = row  # fmt: skip
    named = patient_id is not None
    return (
        _utc(at).astimezone(zone).strftime(clock.DATETIME_FORMAT),
        kind,
        label,
        drug,
        product,
        lot,
        qty / 1000,
        round(qty / 1000 / conc, 3) if conc else None,
        balance / 1000,
        f"{family}, {given}" if named else "",
        format_address(line, city, state, postal) if named else "",
        session_id,
        by,
        witness,
        method,
        note,
        corrects,
    )


def _log_row(row: Any, zone: ZoneInfo) -> dict[str, Any]:
    return dict(zip(LOG_COLUMNS, _log_values(row, zone), strict=True))


def log_page(
    db: Session,
    actor: Actor,
    tz: str,
    registration_id: int,
    start: date,
    end: date,
    *,
    after: str = "",
    limit: int = LOG_PAGE,
    kinds: tuple[str, ...] = (),
) -> LogPage:
    """One page of the log (``limit`` rows after the cursor ``after``), with the patients'
    names and addresses for administrations (21 CFR 1304.22(c)); the read is audited with
    the patients the page shows."""
    r = log_range(db, actor.clinic_id, tz, registration_id, start, end, kinds)
    cursor = decode_cursor(after)
    if cursor is not None and not r.lo <= cursor[0] < r.hi:
        raise BadRequest("the cursor is not in this date range", "after")
    found = db.execute(log_statement(r, cursor).limit(limit + 1)).all()
    more, found = len(found) > limit, found[:limit]
    zone = clock.zone(tz)
    rows = [_log_row(row, zone) for row in found]
    patients = {row.patient_id for row in found if row.patient_id is not None}
    audit.record(
        db, actor, "list", "cs_log", f"{r.registration_id}:{start}:{end}", patients=patients
    )
    last = found[-1] if found else None
    cursor_next = encode_cursor(_utc(last.occurred_at), last.id) if more and last else None
    return LogPage(rows, cursor_next)


def open_log_export(
    db: Session,
    actor: Actor,
    tz: str,
    registration_id: int,
    start: date,
    end: date,
    fmt: str,
    kinds: tuple[str, ...] = (),
) -> LogRange:
    """Audit an export of the whole range once, naming every patient it will disclose, and
    return the range to stream (:func:`export_rows`), fixed to the events recorded so far
    (the ledger only grows, so the stream holds exactly the audited rows)."""
    r = log_range(db, actor.clinic_id, tz, registration_id, start, end, kinds)
    upto = db.execute(select(func.max(CsEvent.id))).scalar() or 0
    r = replace(r, upto_id=int(upto))
    in_range = [
        CsEvent.registration_id == r.registration_id,
        CsEvent.occurred_at >= r.lo,
        CsEvent.occurred_at < r.hi,
        CsEvent.id <= r.upto_id,
    ]
    if kinds:
        in_range.append(CsEvent.kind.in_(kinds))
    if fmt == "pdf":
        n = db.execute(select(func.count()).select_from(CsEvent).where(*in_range)).scalar_one()
        if n > PDF_MAX_ROWS:
            raise BadRequest(
                f"a PDF holds at most {PDF_MAX_ROWS:,} events and this range has {n:,}: "
                "choose a shorter range, or download the CSV",
                "end",
            )
    names = select(CsEvent.patient_id).where(*in_range, CsEvent.patient_id.is_not(None))
    patients = db.execute(names.distinct()).scalars().all()
    audit.record(
        db, actor, "export", "cs_log", f"{r.registration_id}:{start}:{end}:{fmt}",
        patients=[p for p in patients if p is not None],
    )  # fmt: skip
    return r


def export_rows(
    sessions: Callable[[], Session], r: LogRange, batch: int = STREAM_BATCH
) -> Iterator[tuple[Any, ...]]:
    """Every row of an audited export range as the values of :data:`LOG_COLUMNS`, read in a
    session of its own (the request's has committed by then). PostgreSQL: one server-side
    cursor, ``batch`` rows per round trip. SQLite, where every transaction takes the write
    lock (``BEGIN IMMEDIATE``): keyset batches, each in a short transaction of its own, so
    that a slow download never keeps other writers waiting. The range is fixed by
    ``upto_id``, so both give the same rows."""
    zone = clock.zone(r.tz)
    with sessions() as db:
        conn = db.connection()  # Core rows: no ORM result processing per row
        if conn.dialect.name == "postgresql":
            result = conn.execution_options(yield_per=batch).execute(log_statement(r))
            for row in result:
                yield _log_values(row, zone)
            db.rollback()
            return
        db.rollback()
        after: tuple[datetime, int] | None = None
        while True:
            found = db.connection().execute(log_statement(r, after).limit(batch)).all()
            db.rollback()
            for row in found:
                yield _log_values(row, zone)
            if len(found) < batch:
                return
            after = (_utc(found[-1].occurred_at), found[-1].id)


def administration_log(
    db: Session,
    actor: Actor,
    tz: str,
    registration_id: int,
    start: date,
    end: date,
    kinds: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Every row of the log from ``start`` to ``end`` in one list, audited as an export with
    every patient it names: for small ranges and as the reference the paged and streamed
    forms are tested against (pages, the API and the CLI page or stream instead)."""
    r = log_range(db, actor.clinic_id, tz, registration_id, start, end, kinds)
    zone = clock.zone(tz)
    out: list[dict[str, Any]] = []
    patients: set[int] = set()
    for row in db.execute(log_statement(r)):
        if row.patient_id is not None:
            patients.add(row.patient_id)
        out.append(_log_row(row, zone))
    audit.record(
        db, actor, "export", "cs_log", f"{r.registration_id}:{start}:{end}", patients=patients
    )
    return out


#: Columns of :data:`LOG_COLUMNS` that hold free text (escaped against spreadsheet formulas).
_LOG_TEXT = frozenset(
    i for i, c in enumerate(LOG_COLUMNS) if c not in ("occurred_at", "kind", "qty_mg", "qty_ml",
                                                      "balance_mg", "session_id", "corrects")
)  # fmt: skip


def csv_chunks(
    rows: Iterable[tuple[Any, ...]], columns: tuple[str, ...] = LOG_COLUMNS
) -> Iterator[str]:
    """Log rows (values of :data:`LOG_COLUMNS`) as CSV text, header first, then a chunk
    every 500 rows; free-text cells that a spreadsheet would run as formulas are prefixed
    with ' (as :func:`to_csv`)."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    text = [i in _LOG_TEXT for i in range(len(columns))]
    for n, values in enumerate(rows, 1):
        writer.writerow(
            [
                _cell(v) if t and v and v[0] in _FORMULA else v
                for v, t in zip(values, text, strict=True)
            ]
        )
        if n % 500 == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


_FORMULA = ("=", "+", "-", "@")


def _mg(ug: int) -> float:
    return ug / 1000


def to_csv(rows: list[dict[str, Any]], columns: tuple[str, ...]) -> str:
    """Rows as CSV (cells that a spreadsheet would run as formulas are prefixed with ')."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(col)) for col in columns])
    return buf.getvalue()


def _cell(value: object) -> str:
    text = "" if value is None else f"{value}"
    return "'" + text if text[:1] in ("=", "+", "-", "@") and not _number(text) else text


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


INVENTORY_COLUMNS = (
    "label", "drug", "product", "form", "strength_mg_ml", "container_mg", "lot", "expiry",
    "opened", "balance_mg", "balance_ml", "estimated_mg",
)  # fmt: skip


def inventory_rows(inv: CsInventory) -> list[dict[str, Any]]:
    """The inventory's lines with quantities in mg."""
    return [
        {
            **line,
            "container_mg": _mg(int(line["container_ug"])),
            "balance_mg": _mg(int(line["balance_ug"])),
            "estimated_mg": _mg(int(line["estimated_ug"])) if "estimated_ug" in line else "",
        }
        for line in inv.lines
    ]
