"""Controlled-substance JSON API under /api/v1/cs (staff bearer tokens; roles per
``KETACARE_CS_*_ROLES``; another clinic's record is a 404)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from fastapi import APIRouter, Query, Response

from ketacare.domain.compliance import controlled as rules
from ketacare.features._kit.deps import DbDep, NowDep
from ketacare.features._kit.errors import BadRequest
from ketacare.features._kit.params import RowId
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import ApiActor
from ketacare.features.controlled import exports, queries, records, service
from ketacare.features.controlled.deps import CsSettingsDep, SessionsDep, TzDep
from ketacare.features.controlled.schemas import (
    CaseBody,
    CaseOut,
    ContainerOut,
    CountBody,
    CountOut,
    EventBody,
    EventOut,
    InventoryBody,
    InventoryOut,
    LogPageOut,
    ReceiptBody,
    ReceiptOut,
    RegistrationIn,
    RegistrationOut,
    WitnessIn,
)

router = APIRouter(prefix="/api/v1/cs", tags=["controlled substances"])
Format = Literal["json", "csv", "pdf"]
EventKind = Literal[
    "receive", "draw", "administer", "waste", "return", "breakage", "expire", "transfer",
    "dispose", "close", "correction",
]  # fmt: skip
#: Routes that name a record in the body or the query: 404 when it is not in the clinic.
NOT_FOUND: dict[int | str, dict[str, object]] = {
    404: {
        "description": "The registration, container or session named is not in the caller's "
        "clinic.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}},
    }
}


def _ug(value: str, field: str) -> int:
    try:
        return rules.mg_to_ug(value)
    except ValueError as exc:
        raise BadRequest(str(exc), field) from exc


def _witness(
    db: DbDep, actor: Actor, settings: CsSettingsDep, body: WitnessIn, now: NowDep
) -> service.Witness | None:
    if not body.witness_email and not body.witness_password:
        return None
    return service.witness(db, actor, settings, body.witness_email, body.witness_password, now)


@router.get("/registrations", response_model=list[RegistrationOut])
def list_registrations(actor: ApiActor, db: DbDep) -> list[RegistrationOut]:
    """The clinic's DEA registrations."""
    return [RegistrationOut.model_validate(r) for r in queries.registrations(db, actor.clinic_id)]


@router.post("/registrations", response_model=RegistrationOut, status_code=201)
def create_registration(
    body: RegistrationIn, actor: ApiActor, db: DbDep, settings: CsSettingsDep, now: NowDep
) -> RegistrationOut:
    """Record a DEA registration of one site (manage roles)."""
    reg = service.create_registration(db, actor, settings, now, **body.model_dump())
    return RegistrationOut.model_validate(reg)


@router.post("/receipts", response_model=ReceiptOut, status_code=201, responses=NOT_FOUND)
def receive(
    body: ReceiptBody, actor: ApiActor, db: DbDep, settings: CsSettingsDep, now: NowDep
) -> ReceiptOut:
    """Record a receipt (invoice, supplier, NDC, lot, ...); one labelled container per unit."""
    witnessed = _witness(db, actor, settings, body, now)
    fields = body.model_dump(exclude={"witness_email", "witness_password"})
    receipt = service.receive(db, actor, settings, now, service.ReceiptIn(**fields), witnessed)
    return ReceiptOut(
        id=receipt.id,
        containers=[exports.container_out(c) for c in queries.receipt_containers(db, receipt.id)],
    )


@router.get("/containers", response_model=list[ContainerOut])
def list_containers(
    actor: ApiActor, db: DbDep, status: Literal["open", "all"] = "open"
) -> list[ContainerOut]:
    """Containers with their balances (default: not closed)."""
    rows = queries.containers(db, actor.clinic_id, include_closed=status == "all")
    return [exports.container_out(c) for c in rows]


@router.get("/containers/{container_id}/events", response_model=list[EventOut])
def container_events(container_id: RowId, actor: ApiActor, db: DbDep) -> list[EventOut]:
    """A container's ledger, in order."""
    return [exports.event_out(e) for e in service.events_of(db, actor.clinic_id, container_id)]


@router.post("/containers/{container_id}/events", response_model=EventOut, status_code=201)
def append_event(
    container_id: RowId,
    body: EventBody,
    actor: ApiActor,
    db: DbDep,
    settings: CsSettingsDep,
    now: NowDep,
) -> EventOut:
    """Append a ledger event (draw, administer, waste with witness, ...); 422 with the rules."""
    witnessed = _witness(db, actor, settings, body, now)
    session = queries.session_of(db, actor.clinic_id, body.session_id)
    ev = service.append(
        db, actor, settings, now, container_id, body.kind, _ug(body.qty_mg, "qty_mg"),
        draw_id=body.draw_id, corrects=body.corrects, session=session, witnessed_by=witnessed,
        method=body.method, note=body.note, target_registration_id=body.target_registration_id,
    )  # fmt: skip
    return exports.event_out(ev)


@router.post("/counts", response_model=CountOut, status_code=201, responses=NOT_FOUND)
def count(
    body: CountBody,
    actor: ApiActor,
    db: DbDep,
    settings: CsSettingsDep,
    now: NowDep,
    tz: TzDep,
) -> CountOut:
    """Count a container; a difference from the ledger opens a discrepancy case."""
    witnessed = _witness(db, actor, settings, body, now)
    row = records.record_count(
        db, actor, settings, now, tz, body.container_id, _ug(body.counted_mg, "counted_mg"),
        witnessed_by=witnessed, significant=body.significant,
    )  # fmt: skip
    return CountOut(
        id=row.id,
        expected_mg=row.expected_ug / 1000,
        counted_mg=row.counted_ug / 1000,
        case_id=row.case_id,
    )


@router.get("/cases", response_model=list[CaseOut])
def open_cases(actor: ApiActor, db: DbDep, now: NowDep, tz: TzDep) -> list[CaseOut]:
    """Open discrepancy cases with the DEA notice and Form 106 due dates."""
    today = now.astimezone(exports.zone(tz)).date()
    return [CaseOut(**vars(t)) for t in records.open_cases(db, actor.clinic_id, today)]


@router.post("/cases/{case_id}", response_model=CaseOut)
def update_case(
    case_id: RowId,
    body: CaseBody,
    actor: ApiActor,
    db: DbDep,
    settings: CsSettingsDep,
    now: NowDep,
    tz: TzDep,
) -> CaseOut:
    """Investigation, resolution, significance, notice sent, Form 106 filed, close."""
    case = records.update_case(db, actor, settings, now, tz, case_id, **body.model_dump())
    today = now.astimezone(exports.zone(tz)).date()
    return exports.case_out(case, today)


@router.post("/inventories", response_model=InventoryOut, status_code=201, responses=NOT_FOUND)
def take_inventory(
    body: InventoryBody, actor: ApiActor, db: DbDep, settings: CsSettingsDep, now: NowDep
) -> InventoryOut:
    """Take an initial/biennial/annual inventory (signed by the caller)."""
    estimates = {k: _ug(v, f"estimates_mg.{k}") for k, v in body.estimates_mg.items()}
    inv = records.take_inventory(
        db, actor, settings, now, body.registration_id, body.kind, body.timing, estimates
    )
    return exports.inventory_out(inv)


@router.get("/inventories/{inventory_id}", response_model=InventoryOut)
def read_inventory(
    inventory_id: RowId,
    actor: ApiActor,
    db: DbDep,
    tz: TzDep,
    format: Format = "json",
) -> InventoryOut | Response:
    """A stored inventory as JSON, CSV or PDF (every export audited)."""
    inv = records.inventory(db, actor.clinic_id, inventory_id)
    if format == "json":
        return exports.inventory_out(inv)
    return exports.inventory_file(db, actor, inv, format, tz)


@router.get("/log", response_model=None, responses=NOT_FOUND)
def administration_log(
    actor: ApiActor,
    db: DbDep,
    tz: TzDep,
    sessions: SessionsDep,
    registration_id: int = Query(ge=1, le=2**31 - 1),
    start: date = Query(),
    end: date = Query(),
    after: str = Query("", max_length=40, description="The ``next`` cursor of the last page."),
    limit: int = Query(records.LOG_PAGE, ge=1, le=1000),
    kind: EventKind | None = Query(None, description="Only events of this kind."),
    format: Format = "json",
) -> LogPageOut | Response:
    """The ledger events of a registration in a date range (clinic days), in (time, id)
    order. JSON: one page of ``limit`` rows after the cursor ``after``, audited with the
    patients it shows. CSV: the whole range streamed; PDF: the whole range. An export is
    audited once, naming every patient it discloses."""
    service.check_date(start, "start")
    service.check_date(end, "end")
    kinds = (kind,) if kind else ()
    if format == "json":
        page = records.log_page(
            db, actor, tz, registration_id, start, end, after=after, limit=limit, kinds=kinds
        )
        return LogPageOut.model_validate({"rows": page.rows, "next": page.next})
    r = records.open_log_export(db, actor, tz, registration_id, start, end, format, kinds)
    return exports.log_download(sessions, r, format)
