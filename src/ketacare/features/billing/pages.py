"""Billing pages: the work list, a session's codes (confirm), a patient's billing record
(prior authorisations with units used, ledger, claims), the superbill / statement PDFs, the
clinic's payers and a patient's coverage (issue 20)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.features._kit import clock
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.errors import BadRequest, KetacareError
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import render
from ketacare.features.auth.actor import Actor
from ketacare.features.billing import claims, coverage, queries, service, views
from ketacare.features.billing.access import (
    BillingPagePatient,
    BillingPageSession,
    PageBillingActor,
)
from ketacare.features.billing.models import Coverage, Payer
from ketacare.features.patients.models import Patient
from ketacare.features.patients.service import get_patient

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _date(value: str, field: str) -> date:
    try:
        day = date.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest("enter a date as YYYY-MM-DD", field) from None
    if not date(1900, 1, 1) <= day <= date(2100, 12, 31):
        raise BadRequest("must be between 1900 and 2100", field)
    return day


def _optional_date(value: str, field: str) -> date | None:
    return _date(value, field) if value.strip() else None


def _int(value: str, field: str, low: int, high: int) -> int:
    try:
        n = int(value.strip())
    except ValueError:
        raise BadRequest("enter a whole number", field) from None
    if not low <= n <= high:
        raise BadRequest(f"must be between {low} and {high}", field)
    return n


def _cents(value: str, field: str) -> int:
    try:
        cents = round(float(value.strip().replace(",", "").lstrip("$")) * 100)
    except ValueError:
        raise BadRequest("enter an amount such as 125.00", field) from None
    return cents


@router.get("/billing", response_class=HTMLResponse)
def work_list(
    request: Request, actor: PageBillingActor, db: DbDep, settings: SettingsDep, now: NowDep
) -> Response:
    """Recently signed sessions with their billing state, and prior-auth alerts."""
    assert actor.user is not None
    tz = views.tz_of(actor, settings)
    today = clock.local_date(now, tz) or now.date()
    rows, alerts = views.work_list(db, actor, tz, today)
    return render(request, "billing/work_list.html", {"rows": rows, "alerts": alerts})


@router.get("/billing/sessions/{session_id}", response_class=HTMLResponse)
def session_page(
    request: Request, s: BillingPageSession, actor: PageBillingActor, db: DbDep,
    settings: SettingsDep,
) -> Response:  # fmt: skip
    """A session's suggested codes with reasons; confirm them."""
    assert actor.user is not None
    view = views.session_view(db, actor, s, views.tz_of(actor, settings))
    patient = get_patient(db, actor.user.clinic_id, s.patient_id)
    ctx = {"view": view, "patient": patient, "session": s}
    return render(request, "billing/session.html", ctx)


@router.post("/billing/sessions/{session_id}/confirm", response_class=HTMLResponse)
def confirm_page(
    form: FormFields, s: BillingPageSession, actor: PageBillingActor, db: DbDep,
    settings: SettingsDep, now: NowDep,
) -> Response:  # fmt: skip
    """Confirm the ticked codes."""
    codes = [k.removeprefix("code_") for k, v in form.items() if k.startswith("code_") and v]
    service.confirm(db, actor, s, codes, now, views.tz_of(actor, settings))
    return RedirectResponse(f"/billing/sessions/{s.id}", status_code=303)


@router.get("/billing/sessions/{session_id}/superbill.pdf", response_class=Response)
def session_superbill(
    s: BillingPageSession, actor: PageBillingActor, db: DbDep, settings: SettingsDep,
    now: NowDep, dx: str = "",
) -> Response:  # fmt: skip
    """The superbill of one visit."""
    assert actor.user is not None
    tz = views.tz_of(actor, settings)
    patient = get_patient(db, actor.user.clinic_id, s.patient_id)
    day = service.service_date(s, tz)
    from ketacare.features.billing import documents  # fpdf2 loads with the first PDF

    body = documents.superbill(db, actor, patient, day, day, _dx(dx), now, tz, session=s)
    return _pdf(body, f"superbill-session-{s.id}.pdf")


def _dx(value: str) -> list[str]:
    codes = [c.strip().upper() for c in value.split(",") if c.strip()]
    if len(codes) > 12 or any(len(c) > 8 or not c.replace(".", "").isalnum() for c in codes):
        raise BadRequest("list up to 12 ICD-10 codes separated by commas", "dx")
    return codes


def _pdf(body: bytes, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(body, media_type="application/pdf", headers=headers)


@router.get("/billing/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(
    request: Request, patient: BillingPagePatient, actor: PageBillingActor, db: DbDep,
    settings: SettingsDep, now: NowDep,
) -> Response:  # fmt: skip
    """Demographics, coverage, confirmed lines, prior authorisations, ledger and claims."""
    tz = views.tz_of(actor, settings)
    today = clock.local_date(now, tz) or now.date()
    ctx = {
        "patient": patient,
        "view": views.patient_view(db, patient, today, tz),
        "coverages": queries.coverages(db, patient.id),
        "payers": {p.id: p for p in queries.payers(db, patient.clinic_id)},
        "claims": queries.claims(db, patient.id),
        "today": today,
    }
    return render(request, "billing/patient.html", ctx)


@router.post("/billing/patients/{patient_id}/prior-auths", response_class=HTMLResponse)
def add_prior_auth(
    form: FormFields, patient: BillingPagePatient, actor: PageBillingActor, db: DbDep,
    now: NowDep,
) -> Response:  # fmt: skip
    """Record a prior authorisation."""
    units = form.get("approved_units", "").strip()
    data = service.AuthInput(
        payer_id=_int(form.get("payer_id", ""), "payer_id", 1, 2_147_483_647),
        codes=form.get("codes", ""),
        requested_on=_date(form.get("requested_on", ""), "requested_on"),
        status=form.get("status", "requested"),
        auth_number=form.get("auth_number", ""),
        approved_units=_int(units, "approved_units", 1, 1000) if units else None,
        start_date=_optional_date(form.get("start_date", ""), "start_date"),
        end_date=_optional_date(form.get("end_date", ""), "end_date"),
        note=form.get("note", "")[:2000],
    )
    service.add_prior_auth(db, actor, patient, data, now)
    return RedirectResponse(f"/billing/patients/{patient.id}", status_code=303)


@router.post("/billing/patients/{patient_id}/ledger", response_class=HTMLResponse)
def add_ledger_entry(
    form: FormFields, patient: BillingPagePatient, actor: PageBillingActor, db: DbDep
) -> Response:
    """A charge, payment or adjustment."""
    service.add_ledger_entry(
        db, actor, patient, form.get("kind", ""), _cents(form.get("amount", ""), "amount"),
        _date(form.get("on_date", ""), "on_date"), form.get("memo", ""),
    )  # fmt: skip
    return RedirectResponse(f"/billing/patients/{patient.id}", status_code=303)


@router.post("/billing/patients/{patient_id}/claims", response_class=HTMLResponse)
def make_claim(
    form: FormFields, patient: BillingPagePatient, actor: PageBillingActor, db: DbDep,
    now: NowDep,
) -> Response:  # fmt: skip
    """An 837P claim of the unclaimed confirmed lines for a payer."""
    payer_id = _int(form.get("payer_id", ""), "payer_id", 1, 2_147_483_647)
    claims.make_claim(db, actor, patient, payer_id, _dx(form.get("diagnoses", "")), now)
    return RedirectResponse(f"/billing/patients/{patient.id}", status_code=303)


@router.get("/billing/patients/{patient_id}/superbill.pdf", response_class=Response)
def period_superbill(
    patient: BillingPagePatient, actor: PageBillingActor, db: DbDep, settings: SettingsDep,
    now: NowDep, start: str = "", end: str = "", dx: str = "",
) -> Response:  # fmt: skip
    """A superbill for a period (``start``, ``end`` as YYYY-MM-DD)."""
    tz = views.tz_of(actor, settings)
    first, last = _date(start, "start"), _date(end, "end")
    from ketacare.features.billing import documents  # fpdf2 loads with the first PDF

    body = documents.superbill(db, actor, patient, first, last, _dx(dx), now, tz)
    return _pdf(body, f"superbill-{patient.id}-{first}-{last}.pdf")


@router.get("/billing/patients/{patient_id}/statement.pdf", response_class=Response)
def statement(
    patient: BillingPagePatient, actor: PageBillingActor, db: DbDep, settings: SettingsDep,
    now: NowDep,
) -> Response:  # fmt: skip
    """The patient's statement."""
    from ketacare.features.billing import documents  # fpdf2 loads with the first PDF

    body = documents.statement(db, actor, patient, now, views.tz_of(actor, settings))
    return _pdf(body, f"statement-{patient.id}.pdf")


@router.get("/billing/patients/{patient_id}/prior-auth-packet.pdf", response_class=Response)
def prior_auth_packet(
    patient: BillingPagePatient, actor: PageBillingActor, db: DbDep, settings: SettingsDep,
    now: NowDep, dx: str = "",
) -> Response:  # fmt: skip
    """The prior-authorisation packet (diagnosis, trials, TRD stage, scores, REMS, regimen)."""
    tz = views.tz_of(actor, settings)
    from ketacare.features.billing import packet  # fpdf2 loads with the first PDF

    body = packet.packet_pdf(db, actor, patient, _dx(dx), now, tz, settings)
    return _pdf(body, f"prior-auth-packet-{patient.id}.pdf")


# --- Payers and coverage (issue 20) -----------------------------------------------------------

Errors = list[dict[str, str]]


def _can_write(actor: Actor) -> bool:
    return actor.user is not None and actor.user.role in coverage.WRITERS


def _payer_values(payer: Payer | None) -> dict[str, Any]:
    if payer is None:
        return {"uses_g_codes": "on", "bundles_em": "on", "place_of_service": "11",
                "drug_code_switch": "2026-01-01"}  # fmt: skip
    p = payer.policy or {}
    return {
        "name": payer.name,
        "payer_id": payer.payer_id,
        "uses_g_codes": "on" if p.get("uses_g_codes", True) else "",
        "bills_drug_separately": "on" if p.get("bills_drug_separately") else "",
        "drug_code_switch": p.get("drug_code_switch", "2026-01-01"),
        "bundles_em": "on" if p.get("bundles_em", True) else "",
        "place_of_service": p.get("place_of_service", "11"),
        "modifiers": coverage.modifiers_text(p),
    }


def _payer_input(form: Mapping[str, str]) -> coverage.PayerInput:
    return coverage.PayerInput(
        name=form.get("name", ""),
        payer_id=form.get("payer_id", ""),
        uses_g_codes=form.get("uses_g_codes") == "on",
        bills_drug_separately=form.get("bills_drug_separately") == "on",
        drug_code_switch=_date(
            form.get("drug_code_switch", "") or "2026-01-01", "drug_code_switch"
        ),
        bundles_em=form.get("bundles_em") == "on",
        place_of_service=form.get("place_of_service", "").strip(),
        modifiers=coverage.parse_modifiers(form.get("modifiers", "")),
    )


def _payers_page(
    request: Request, db: DbDep, actor: Actor, errors: Errors | None = None,
    values: Mapping[str, Any] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    ctx = {
        "payers": coverage.list_payers(db, actor),
        "can_write": _can_write(actor),
        "errors": errors or [],
        "values": values if values is not None else _payer_values(None),
        "modifiers": coverage.modifiers_text,
    }
    return render(request, "billing/payers.html", ctx, status_code=status)


@router.get("/billing/payers", response_class=HTMLResponse)
def payers_page(request: Request, actor: PageBillingActor, db: DbDep) -> Response:
    """The clinic's payers and how each wants sessions coded; add one (billing users, admins)."""
    return _payers_page(request, db, actor)


@router.post("/billing/payers", response_class=HTMLResponse)
def add_payer(
    request: Request, form: FormFields, actor: PageBillingActor, db: DbDep, now: NowDep
) -> Response:
    """Add a payer (422 naming the field, 409 for a second payer of one name)."""
    coverage.require_writer(actor)
    try:
        with db.begin_nested():
            coverage.save_payer(db, actor, None, _payer_input(form), now)
    except KetacareError as exc:
        errors = [exc.detail()]
        return _payers_page(request, db, actor, errors, form, exc.status_code)
    return RedirectResponse("/billing/payers", status_code=303)


def _payer_page(
    request: Request, db: DbDep, actor: Actor, payer: Payer, errors: Errors | None = None,
    values: Mapping[str, Any] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    ctx = {
        "payer": payer,
        "can_write": _can_write(actor),
        "errors": errors or [],
        "values": values if values is not None else _payer_values(payer),
        "modifiers": coverage.modifiers_text,
    }
    return render(request, "billing/payer.html", ctx, status_code=status)


@router.get("/billing/payers/{payer_id}", response_class=HTMLResponse)
def payer_page(request: Request, payer_id: RowId, actor: PageBillingActor, db: DbDep) -> Response:
    """One payer (a form for billing users and admins)."""
    return _payer_page(request, db, actor, coverage.get_payer(db, actor, payer_id))


@router.post("/billing/payers/{payer_id}", response_class=HTMLResponse)
def edit_payer(
    request: Request, payer_id: RowId, form: FormFields, actor: PageBillingActor, db: DbDep,
    now: NowDep,
) -> Response:  # fmt: skip
    """Change a payer (nothing is written on a refusal)."""
    coverage.require_writer(actor)
    payer = coverage.get_payer(db, actor, payer_id)
    try:
        with db.begin_nested():
            coverage.save_payer(db, actor, payer.id, _payer_input(form), now)
    except KetacareError as exc:
        db.refresh(payer)
        errors = [exc.detail()]
        return _payer_page(request, db, actor, payer, errors, form, exc.status_code)
    return RedirectResponse(f"/billing/payers/{payer.id}", status_code=303)


def _coverage_values(c: Coverage) -> dict[str, Any]:
    def day(d: date | None) -> str:
        return d.isoformat() if d else ""

    return {
        "payer_id": str(c.payer_id), "member_id": c.member_id, "plan_name": c.plan_name,
        "group_number": c.group_number, "subscriber_relationship": c.subscriber_relationship,
        "subscriber_name": c.subscriber_name, "subscriber_birth_date": day(c.subscriber_birth_date),
        "address": c.address, "city": c.city, "state": c.state, "postal_code": c.postal_code,
        "start_date": day(c.start_date), "end_date": day(c.end_date),
        "primary": "on" if c.primary else "",
    }  # fmt: skip


def _coverage_input(form: Mapping[str, str]) -> coverage.CoverageInput:
    return coverage.CoverageInput(
        payer_id=_int(form.get("payer_id", ""), "payer_id", 1, 2_147_483_647),
        member_id=form.get("member_id", ""),
        plan_name=form.get("plan_name", ""),
        group_number=form.get("group_number", ""),
        subscriber_relationship=form.get("subscriber_relationship", "self"),
        subscriber_name=form.get("subscriber_name", ""),
        subscriber_birth_date=_optional_date(
            form.get("subscriber_birth_date", ""), "subscriber_birth_date"
        ),
        address=form.get("address", ""),
        city=form.get("city", ""),
        state=form.get("state", ""),
        postal_code=form.get("postal_code", ""),
        start_date=_optional_date(form.get("start_date", ""), "start_date"),
        end_date=_optional_date(form.get("end_date", ""), "end_date"),
        primary=form.get("primary") == "on",
    )


def _coverage_page(
    request: Request, db: DbDep, actor: Actor, patient: Patient, errors: Errors | None = None,
    values: Mapping[str, Any] | None = None, edited: int | None = None, status: int = 200,
) -> Response:  # fmt: skip
    rows = coverage.patient_coverages(db, actor, patient)
    edit_values: dict[int, Mapping[str, Any]] = {c.id: _coverage_values(c) for c in rows}
    if edited is not None and values is not None:
        edit_values[edited] = values
    ctx = {
        "patient": patient,
        "coverages": rows,
        "payers": {p.id: p for p in coverage.list_payers(db, actor)},
        "can_write": _can_write(actor),
        "errors": errors or [],
        "values": values
        if values is not None and edited is None
        else {"primary": "" if rows else "on"},
        "edit_values": edit_values,
    }
    return render(request, "billing/coverage.html", ctx, status_code=status)


@router.get("/billing/patients/{patient_id}/coverage", response_class=HTMLResponse)
def coverage_page(
    request: Request, patient: BillingPagePatient, actor: PageBillingActor, db: DbDep
) -> Response:
    """The patient's insurance (member id, plan, subscriber, address, dates); audited read."""
    return _coverage_page(request, db, actor, patient)


@router.post("/billing/patients/{patient_id}/coverage", response_class=HTMLResponse)
def add_coverage(
    request: Request, form: FormFields, patient: BillingPagePatient, actor: PageBillingActor,
    db: DbDep, now: NowDep,
) -> Response:  # fmt: skip
    """Record the patient's insurance with a payer (billing users and admins)."""
    try:
        with db.begin_nested():
            coverage.save_coverage(db, actor, patient, None, _coverage_input(form), now)
    except KetacareError as exc:
        errors = [exc.detail()]
        return _coverage_page(request, db, actor, patient, errors, form, None, exc.status_code)
    return RedirectResponse(f"/billing/patients/{patient.id}/coverage", status_code=303)


@router.post("/billing/patients/{patient_id}/coverage/{coverage_id}", response_class=HTMLResponse)
def edit_coverage(
    request: Request, coverage_id: RowId, form: FormFields, patient: BillingPagePatient,
    actor: PageBillingActor, db: DbDep, now: NowDep,
) -> Response:  # fmt: skip
    """Change one of the patient's coverages (nothing is written on a refusal)."""
    try:
        with db.begin_nested():
            coverage.save_coverage(db, actor, patient, coverage_id, _coverage_input(form), now)
    except KetacareError as exc:
        if exc.status_code == 404:
            raise
        errors = [exc.detail()]
        return _coverage_page(
            request, db, actor, patient, errors, form, coverage_id, exc.status_code
        )
    return RedirectResponse(f"/billing/patients/{patient.id}/coverage", status_code=303)
