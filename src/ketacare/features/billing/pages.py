"""Billing pages: the work list, a session's codes (confirm), a patient's billing record
(prior authorisations with units used, ledger, claims) and the superbill / statement PDFs."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.features._kit import clock
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.errors import BadRequest
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.templating import render
from ketacare.features.audit.service import record
from ketacare.features.billing import claims, documents, packet, queries, service, views
from ketacare.features.billing.access import (
    BillingPagePatient,
    BillingPageSession,
    PageBillingActor,
)
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
    rows = []
    # Three statements whatever the length of the list (it ran two per session).
    clinic_id = actor.user.clinic_id
    signed = queries.recent_signed(db, clinic_id)
    auths = queries.clinic_prior_auths(db, clinic_id)
    people = queries.patients_by_id(
        db, clinic_id, {s.patient_id for s in signed} | {a.patient_id for a in auths}
    )
    session_lines = queries.lines_by_session(db, [s.id for s in signed])
    for s in signed:
        patient = people[s.patient_id]
        lines = session_lines[s.id]
        state = "to confirm"
        if lines:
            stale = any(x.session_version != s.version for x in lines)
            state = "amended: confirm again" if stale else "confirmed"
        rows.append((s, patient, service.service_date(s, tz), state))
    lead = views.lead_of(db, actor.user.clinic_id)
    alerts = []
    for auth in auths:
        u = service.usage(db, auth, today, tz, lead)
        if u.alerts:
            alerts.append((people[auth.patient_id], u))
    shown = {p.id for _, p, _, _ in rows} | {p.id for p, _ in alerts}
    record(db, actor, "list", "billing_patient", patients=sorted(shown))
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
    body = documents.superbill(db, actor, patient, first, last, _dx(dx), now, tz)
    return _pdf(body, f"superbill-{patient.id}-{first}-{last}.pdf")


@router.get("/billing/patients/{patient_id}/statement.pdf", response_class=Response)
def statement(
    patient: BillingPagePatient, actor: PageBillingActor, db: DbDep, settings: SettingsDep,
    now: NowDep,
) -> Response:  # fmt: skip
    """The patient's statement."""
    body = documents.statement(db, actor, patient, now, views.tz_of(actor, settings))
    return _pdf(body, f"statement-{patient.id}.pdf")


@router.get("/billing/patients/{patient_id}/prior-auth-packet.pdf", response_class=Response)
def prior_auth_packet(
    patient: BillingPagePatient, actor: PageBillingActor, db: DbDep, settings: SettingsDep,
    now: NowDep, dx: str = "",
) -> Response:  # fmt: skip
    """The prior-authorisation packet (diagnosis, trials, TRD stage, scores, REMS, regimen)."""
    tz = views.tz_of(actor, settings)
    body = packet.packet_pdf(db, actor, patient, _dx(dx), now, tz, settings)
    return _pdf(body, f"prior-auth-packet-{patient.id}.pdf")
