"""Counts, discrepancy cases, inventories and the administration log (issue 18.6, 18.7).

Services take ``actor`` and ``now``, audit themselves and flush. Nothing here deletes: counts,
cases and inventories are kept with the ledger for at least ``KETACARE_CS_RETENTION_YEARS``
(ketacare never deletes them at all).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
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
from ketacare.features.patients.models import Patient

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
    "balance_mg", "patient", "session_id", "by", "witness", "method", "note", "corrects",
)  # fmt: skip


def administration_log(
    db: Session,
    actor: Actor,
    tz: str,
    registration_id: int,
    start: date,
    end: date,
    kinds: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """Every ledger event of a registration from ``start`` to ``end`` (clinic-local days,
    inclusive), in order, with the patient's name for administrations (21 CFR 1304.22(c)).

    The read is audited with every patient it discloses.
    """
    reg = registration(db, actor.clinic_id, registration_id)
    if end < start:
        raise BadRequest("the end is before the start", "end")
    lo, _ = clock.local_day_bounds(start, tz)
    _, hi = clock.local_day_bounds(end, tz)
    # Core columns, not ORM entities: the 2-year log of a busy clinic is ~500,000 rows.
    stmt = (
        select(
            CsEvent.occurred_at,
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
            CsEvent.session_id,
            CsEvent.by_email,
            CsEvent.witness_email,
            CsEvent.method,
            CsEvent.note,
            CsEvent.corrects_id,
        )
        .join(CsContainer, CsContainer.id == CsEvent.container_id)
        .outerjoin(Patient, Patient.id == CsEvent.patient_id)
        .where(
            CsEvent.registration_id == reg.id,
            CsEvent.occurred_at >= lo,
            CsEvent.occurred_at < hi,
        )
        .order_by(CsEvent.occurred_at, CsEvent.id)
    )
    if kinds:
        stmt = stmt.where(CsEvent.kind.in_(kinds))
    zone = clock.zone(tz)
    out: list[dict[str, Any]] = []
    patients: set[int] = set()
    for row in db.execute(stmt):
        (at, kind, label, drug, product, lot, qty, conc, balance, patient_id, family, given,
         session_id, by, witness, method, note, corrects) = row  # fmt: skip
        if patient_id is not None:
            patients.add(patient_id)
        out.append(
            {
                "occurred_at": at.astimezone(zone).strftime(clock.DATETIME_FORMAT),
                "kind": kind,
                "container": label,
                "drug": drug,
                "product": product,
                "lot": lot,
                "qty_mg": qty / 1000,
                "qty_ml": round(qty / 1000 / conc, 3) if conc else None,
                "balance_mg": balance / 1000,
                "patient": f"{family}, {given}" if patient_id is not None else "",
                "session_id": session_id,
                "by": by,
                "witness": witness,
                "method": method,
                "note": note,
                "corrects": corrects,
            }
        )
    audit.record(
        db, actor, "export", "cs_log", f"{reg.id}:{start}:{end}", patients=sorted(patients)
    )
    return out


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
