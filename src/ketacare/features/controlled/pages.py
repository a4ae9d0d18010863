"""Controlled-substance pages: the dashboard (stock, open cases with the DEA timers) and the
administration log with its CSV and PDF downloads (every export audited)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ketacare.domain.compliance import controlled as rules
from ketacare.features._kit import clock
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep
from ketacare.features._kit.errors import BadRequest, KetacareError
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import render
from ketacare.features.auth.deps import PageActor
from ketacare.features.controlled import exports, queries, records, service
from ketacare.features.controlled.deps import CsSettingsDep, SessionsDep, TzDep
from ketacare.features.controlled.schemas import ReceiptBody, RegistrationIn

RECEIPT_FIELDS = (
    "registration_id", "invoice_number", "supplier_name", "supplier_address", "supplier_dea",
    "received_at", "ndc", "drug", "product", "form", "container_mg", "concentration_mg_ml",
    "lot", "expiry", "containers", "witness_email", "witness_password",
)  # fmt: skip

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _dashboard(
    request: Request,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    tz: TzDep,
    errors: list[dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    today = now.astimezone(exports.zone(tz)).date()
    context = {
        "errors": errors or [],
        "values": values or {},
        "registrations": queries.registrations(db, actor.clinic_id),
        "containers": [exports.container_out(c) for c in queries.containers(db, actor.clinic_id)],
        "cases": records.open_cases(db, actor.clinic_id, today),
        "today": today,
        "week_ago": today - timedelta(days=6),
    }
    return render(request, "controlled/dashboard.html", context, status_code=status)


@router.get("/cs", response_class=HTMLResponse)
def dashboard(request: Request, actor: PageActor, db: DbDep, now: NowDep, tz: TzDep) -> Response:
    """Registrations, containers on hand with their balances, open discrepancy cases."""
    return _dashboard(request, actor, db, now, tz)


def _errors(exc: ValidationError | KetacareError) -> list[dict[str, str]]:
    if isinstance(exc, ValidationError):
        return [
            {"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()
        ]
    reasons = getattr(exc, "reasons", None)
    if reasons:
        return [{"field": exc.field or "", "reason": f"{r.rule_id}: {r.text}"} for r in reasons]
    return [exc.detail()]


@router.post("/cs/receipts", response_class=HTMLResponse)
def receive_form(
    request: Request,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    tz: TzDep,
    settings: CsSettingsDep,
    form: FormFields,
) -> Response:
    """Record a receipt from the dashboard's form (received at: clinic time)."""
    values = {k: form.get(k, "").strip() for k in RECEIPT_FIELDS}
    try:
        raw: dict[str, object] = {k: v for k, v in values.items() if v != ""}
        if values["received_at"]:
            raw["received_at"] = clock.parse_local(values["received_at"], tz)
        body = ReceiptBody.model_validate(raw)
        witnessed = None
        if body.witness_email or body.witness_password:
            witnessed = service.witness(
                db, actor, settings, body.witness_email, body.witness_password, now
            )
        fields = body.model_dump(exclude={"witness_email", "witness_password"})
        with db.begin_nested():
            service.receive(db, actor, settings, now, service.ReceiptIn(**fields), witnessed)
    except (ValidationError, clock.TimeError) as exc:
        if isinstance(exc, clock.TimeError):
            exc = BadRequest(str(exc), "received_at")  # type: ignore[assignment]
        values.pop("witness_password", None)
        return _dashboard(request, actor, db, now, tz, _errors(exc), values, 422)  # type: ignore[arg-type]
    except KetacareError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        values.pop("witness_password", None)
        return _dashboard(request, actor, db, now, tz, _errors(exc), values, exc.status_code)
    return RedirectResponse("/cs", status_code=303)


def _container_page(
    request: Request,
    actor: PageActor,
    db: DbDep,
    container_id: int,
    errors: list[dict[str, str]] | None = None,
    status: int = 200,
    session_id: int | None = None,
) -> Response:
    events = service.events_of(db, actor.clinic_id, container_id)
    c = queries.container(db, actor.clinic_id, container_id)
    context = {
        "c": exports.container_out(c),
        "events": [exports.event_out(e) for e in events],
        "open_draws": queries.open_draws(db, container_id),
        "errors": errors or [],
        "session_id": session_id,
    }
    return render(request, "controlled/container.html", context, status_code=status)


@router.get("/cs/containers/{container_id}", response_class=HTMLResponse)
def container_page(
    request: Request,
    container_id: RowId,
    actor: PageActor,
    db: DbDep,
    session_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """One container: its balance, its ledger and the form to append an event (``session_id``:
    come from that session's page; its draws are for it, with a way back)."""
    return _container_page(request, actor, db, container_id, session_id=session_id)


@router.post("/cs/containers/{container_id}/events", response_class=HTMLResponse)
def event_form(
    request: Request,
    container_id: RowId,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    settings: CsSettingsDep,
    form: FormFields,
) -> Response:
    """Append a ledger event from the container page (waste: the witness signs here)."""
    queries.container(db, actor.clinic_id, container_id)  # 404 before anything else
    back: int | None = None
    try:
        back = _int(form.get("session_id", ""), "session_id")
        kind = form.get("kind", "")
        if not kind:
            raise BadRequest("choose what happened", "kind")
        qty = rules.mg_to_ug(form.get("qty_mg", "0") or "0")
        draw_id = _int(form.get("draw_id", ""), "draw_id")
        session = queries.session_of(
            db, actor.clinic_id, _int(form.get("session_id", ""), "session_id")
        )
        witnessed = _form_witness(db, actor, settings, form, now)
        with db.begin_nested():
            service.append(
                db, actor, settings, now, container_id, kind, qty, draw_id=draw_id,
                corrects=_int(form.get("corrects", ""), "corrects"), session=session,
                witnessed_by=witnessed, method=form.get("method", ""), note=form.get("note", ""),
            )  # fmt: skip
    except ValueError as exc:
        errors = [{"field": "qty_mg", "reason": str(exc)}]
        return _container_page(request, actor, db, container_id, errors, 422, back)
    except KetacareError as exc:
        if exc.status_code in (401, 403):
            raise
        return _container_page(
            request, actor, db, container_id, _errors(exc), exc.status_code, back
        )
    query = f"?session_id={back}" if back else ""
    return RedirectResponse(f"/cs/containers/{container_id}{query}", status_code=303)


def _form_witness(
    db: DbDep, actor: PageActor, settings: CsSettingsDep, form: FormFields, now: NowDep
) -> service.Witness | None:
    """The witness who signs a page form with their own password (None when the form names
    none); a wrong password is refused by :func:`service.witness` naming the field."""
    email, password = form.get("witness_email", ""), form.get("witness_password", "")
    if not email.strip() and not password:
        return None
    return service.witness(db, actor, settings, email, password, now)


def _int(text: str, field: str) -> int | None:
    text = text.strip()
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) <= 2**31 - 1:
        raise BadRequest("a record number", field)
    return int(text)


@router.get("/cs/log", response_class=HTMLResponse)
def log_page(
    request: Request,
    actor: PageActor,
    db: DbDep,
    tz: TzDep,
    sessions: SessionsDep,
    registration_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
    start: Annotated[date, Query()],
    end: Annotated[date, Query()],
    after: Annotated[str, Query(max_length=40)] = "",
    format: Literal["html", "csv", "pdf"] = "html",
) -> Response:
    """The log of one registration for a date range (clinic days), 200 rows a page with a
    link to the next; CSV (streamed) and PDF of the whole range."""
    context: dict[str, object] = {
        "rows": [], "next": None, "after": after, "registration_id": registration_id,
        "start": start, "end": end, "registrations": queries.registrations(db, actor.clinic_id),
    }  # fmt: skip
    try:
        service.check_date(start, "start")
        service.check_date(end, "end")
        if format != "html":
            r = records.open_log_export(db, actor, tz, registration_id, start, end, format)
            return exports.log_download(sessions, r, format)
        page = records.log_page(db, actor, tz, registration_id, start, end, after=after)
    except KetacareError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        context["error"] = exc.reason
        return render(request, "controlled/log.html", context, status_code=exc.status_code)
    context.update(rows=page.rows, next=page.next)
    return render(request, "controlled/log.html", context)


# --- registrations, counts, cases and inventories from the pages (issue 18.1/18.6/18.7) ------

REGISTRATION_FIELDS = (
    "site_name",
    "dea_number",
    "address",
    "registrant",
    "expires_on",
    "schedules",
)


@router.post("/cs/registrations", response_class=HTMLResponse)
def registration_form(
    request: Request,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    tz: TzDep,
    settings: CsSettingsDep,
    form: FormFields,
) -> Response:
    """Record a DEA registration from the dashboard (manage roles)."""
    values = {k: form.get(k, "").strip() for k in REGISTRATION_FIELDS}
    try:
        body = RegistrationIn.model_validate({k: v for k, v in values.items() if v != ""})
        with db.begin_nested():
            service.create_registration(db, actor, settings, now, **body.model_dump())
    except (ValidationError, KetacareError) as exc:
        status = exc.status_code if isinstance(exc, KetacareError) else 422
        if status in (401, 403, 404):
            raise
        return _dashboard(request, actor, db, now, tz, _errors(exc), values, status)
    return RedirectResponse("/cs", status_code=303)


@router.post("/cs/containers/{container_id}/counts", response_class=HTMLResponse)
def count_form(
    request: Request,
    container_id: RowId,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    tz: TzDep,
    settings: CsSettingsDep,
    form: FormFields,
) -> Response:
    """Count a container against the ledger; a difference opens a case (shown on /cs)."""
    queries.container(db, actor.clinic_id, container_id)  # 404 before anything else
    try:
        text = form.get("counted_mg", "").strip()
        if not text:
            raise BadRequest("enter the quantity counted", "counted_mg")
        try:
            counted = rules.mg_to_ug(text)
        except ValueError as exc:
            raise BadRequest(str(exc), "counted_mg") from None
        witnessed = _form_witness(db, actor, settings, form, now)
        with db.begin_nested():
            row = records.record_count(
                db, actor, settings, now, tz, container_id, counted, witnessed_by=witnessed,
                significant=form.get("significant") == "yes",
            )  # fmt: skip
    except KetacareError as exc:
        if exc.status_code in (401, 403):
            raise
        return _container_page(request, actor, db, container_id, _errors(exc), exc.status_code)
    target = f"/cs#case-{row.case_id}" if row.case_id else f"/cs/containers/{container_id}"
    return RedirectResponse(target, status_code=303)


@router.post("/cs/cases/{case_id}", response_class=HTMLResponse)
def case_form(
    request: Request,
    case_id: RowId,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    tz: TzDep,
    settings: CsSettingsDep,
    form: FormFields,
) -> Response:
    """Investigation, resolution, significant loss, DEA notice sent, Form 106 filed, close."""
    try:
        with db.begin_nested():
            records.update_case(
                db, actor, settings, now, tz, case_id,
                investigation=form.get("investigation") or None,
                resolution=form.get("resolution") or None,
                significant=form.get("significant") == "yes" or None,
                notice_sent=form.get("notice_sent") == "yes",
                form106_filed=form.get("form106_filed") == "yes",
                close=form.get("close") == "yes",
            )  # fmt: skip
    except KetacareError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        return _dashboard(request, actor, db, now, tz, _errors(exc), None, exc.status_code)
    return RedirectResponse(f"/cs#case-{case_id}", status_code=303)


def _estimates(text: str) -> dict[str, int]:
    """``LABEL = mg`` per line (estimated counts of opened containers) to micrograms."""
    out: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        label, sep, qty = line.partition("=")
        if not sep or not label.strip():
            raise BadRequest(f"line {number}: write LABEL = mg", "estimates")
        try:
            out[label.strip()] = rules.mg_to_ug(qty)
        except ValueError as exc:
            raise BadRequest(f"line {number}: {exc}", "estimates") from None
    return out


@router.post("/cs/inventories", response_class=HTMLResponse)
def inventory_form(
    request: Request,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    tz: TzDep,
    settings: CsSettingsDep,
    form: FormFields,
) -> Response:
    """Take and sign an inventory of one registration (manage roles)."""
    try:
        reg = _int(form.get("registration_id", ""), "registration_id")
        if reg is None:
            raise BadRequest("choose the registration", "registration_id")
        with db.begin_nested():
            inv = records.take_inventory(
                db, actor, settings, now, reg, form.get("kind", ""), form.get("timing", ""),
                _estimates(form.get("estimates", "")),
            )  # fmt: skip
    except KetacareError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        return _dashboard(request, actor, db, now, tz, _errors(exc), None, exc.status_code)
    return RedirectResponse(f"/cs/inventories/{inv.id}", status_code=303)


@router.get("/cs/inventories/{inventory_id}", response_class=HTMLResponse)
def inventory_page(
    request: Request,
    inventory_id: RowId,
    actor: PageActor,
    db: DbDep,
    tz: TzDep,
    format: Literal["html", "csv", "pdf"] = "html",
) -> Response:
    """A signed inventory: its lines, and its CSV and PDF (every download audited)."""
    inv = records.inventory(db, actor.clinic_id, inventory_id)
    if format != "html":
        return exports.inventory_file(db, actor, inv, format, tz)
    return render(request, "controlled/inventory.html", {"inv": exports.inventory_out(inv)})
