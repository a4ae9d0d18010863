"""REMS pages: the PMF dashboard with the setting registry and prescriber-on-site attestations
(``/rems``), a patient's enrolment (``/patients/{id}/rems``: the Patient Enrollment Form signed
on a tablet by the patient and countersigned by the prescriber), a session's PMF PDF and its
submission. Forms post ``csrf_token``; refusals come back in the page with their reasons."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from ketacare.features._kit import clock
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.errors import BadRequest, KetacareError
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import page_tz, render
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import PageActor
from ketacare.features.auth.models import Role
from ketacare.features.consent import service as consent
from ketacare.features.patients.deps import PagePatient
from ketacare.features.patients.models import Patient
from ketacare.features.rems import fax, queries, service, views
from ketacare.features.rems.schemas import SettingIn
from ketacare.features.sessions.closing import Refused
from ketacare.features.sessions.context import PageSession
from ketacare.settings import Settings

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

Errors = list[dict[str, str]]


def _errors(exc: Exception) -> Errors:
    if isinstance(exc, Refused):
        return [{"field": r.rule_id, "reason": r.text} for r in exc.reasons]
    if isinstance(exc, KetacareError):
        return [exc.detail()]
    assert isinstance(exc, ValidationError)
    return [{"field": str(e["loc"][0]), "reason": e["msg"]} for e in exc.errors()]


def _status(exc: Exception) -> int:
    return exc.status_code if isinstance(exc, KetacareError) else 422


def _date(value: str, field: str) -> date | None:
    if not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest("must be a date YYYY-MM-DD", field) from None


def _local(value: str, field: str, tz: str) -> datetime:
    try:
        return clock.parse_local(value, tz)
    except clock.TimeError as exc:
        raise BadRequest(str(exc), field) from None


def _rems_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    settings: Settings,
    now: datetime,
    errors: Errors | None = None,
    status: int = 200,
) -> Response:
    assert actor.clinic_id is not None
    board = service.dashboard(db, actor, actor.clinic_id, settings, now)
    ctx: dict[str, Any] = {
        "board": board,
        "setting": queries.setting_of(db, actor.clinic_id),
        "attestations": queries.attestations(db, actor.clinic_id, now),
        "errors": errors or [],
        "is_admin": actor.user is not None and actor.user.role in views.ADMIN,
        "days": settings.rems_deadline_days,
        "fax": bool(settings.rems_fax_dir.strip()),
    }
    return render(request, "rems/dashboard.html", ctx, status_code=status)


@router.get("/rems", response_class=HTMLResponse)
def rems_page(
    request: Request, actor: PageActor, db: DbDep, settings: SettingsDep, now: NowDep
) -> Response:
    """PMFs overdue, due and submitted; the setting registry; prescribers on site."""
    return _rems_page(request, db, actor, settings, now)


@router.post("/rems/setting", response_class=HTMLResponse)
def save_setting(
    request: Request,
    actor: PageActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """Register or update the setting (admins)."""
    try:
        views.require(actor, views.ADMIN)
        assert actor.clinic_id is not None
        body = SettingIn.model_validate(
            {
                "name": form.get("name", ""),
                "address": form.get("address", ""),
                "setting_type": form.get("setting_type", "outpatient"),
                "certified": form.get("certified") == "on",
                "certified_on": _date(form.get("certified_on", ""), "certified_on"),
                "certification_id": form.get("certification_id", ""),
                "authorised_representative": form.get("authorised_representative", ""),
                "acquisition_route": form.get("acquisition_route", ""),
                "pulse_oximeter": form.get("pulse_oximeter") == "on",
            }
        )
        with db.begin_nested():
            service.save_setting(
                db, actor, actor.clinic_id, service.SettingInput(**body.model_dump()), now
            )
    except (ValidationError, KetacareError) as exc:
        return _rems_page(request, db, actor, settings, now, _errors(exc), _status(exc))
    return RedirectResponse("/rems", status_code=303)


@router.post("/rems/attestations", response_class=HTMLResponse)
def attest(
    request: Request,
    actor: PageActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """Attest that a named prescriber is on site (nurse or clinician; times in clinic time)."""
    try:
        views.require(actor, views.CARE_TEAM)
        assert actor.clinic_id is not None
        tz = page_tz(request)
        starts = _local(form.get("starts_at", ""), "starts_at", tz)
        ends = _local(form.get("ends_at", ""), "ends_at", tz)
        with db.begin_nested():
            service.attest_prescriber(
                db, actor, actor.clinic_id, form.get("prescriber_name", ""), starts, ends, now
            )
    except KetacareError as exc:
        return _rems_page(request, db, actor, settings, now, _errors(exc), _status(exc))
    return RedirectResponse("/rems", status_code=303)


def _patient_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    patient: Patient,
    settings: Settings,
    now: datetime,
    errors: Errors | None = None,
    status: int = 200,
) -> Response:
    ctx = {
        "patient": patient,
        "status": views.patient_status(db, actor, patient, settings, now),
        "errors": errors or [],
        "today": clock.local_date(now, page_tz(request)),
        "is_prescriber": actor.user is not None and actor.user.role == Role.clinician,
    }
    return render(request, "rems/patient.html", ctx, status_code=status)


@router.get("/patients/{patient_id}/rems", response_class=HTMLResponse)
def patient_page(
    request: Request,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """The patient's REMS enrolment and whether an esketamine session may start now."""
    return _patient_page(request, db, actor, patient, settings, now)


def _sign_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    patient: Patient,
    now: datetime,
    errors: Errors | None = None,
    values: Any = None,
    status: int = 200,
) -> Response:
    template = service.enrolment_template(db, actor, patient.clinic_id, now)
    ctx = {
        "patient": patient,
        "template": template,
        "errors": errors or [],
        "values": values or {},
        "sign_action": f"/patients/{patient.id}/rems/enrolment-form",
    }
    return render(request, "consent/sign.html", ctx, status_code=status)


@router.get("/patients/{patient_id}/rems/enrolment-form", response_class=HTMLResponse)
def enrolment_form_page(
    request: Request, patient: PagePatient, actor: PageActor, db: DbDep, now: NowDep
) -> Response:
    """The tablet page: the Patient Enrollment Form, a signature pad, typed name and the
    attestation (the patient signs; the prescriber countersigns on the enrolment page)."""
    return _sign_page(request, db, actor, patient, now)


@router.post("/patients/{patient_id}/rems/enrolment-form", response_class=HTMLResponse)
def sign_enrolment_form(
    request: Request,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """Store the enrolment form signed by the patient (not enrolled until countersigned)."""
    try:
        png = consent.signature_from_form(form.get("signature", ""))
        with db.begin_nested():
            service.sign_enrolment(
                db, actor, patient, form.get("typed_name", ""), form.get("attested") == "on",
                png, now, page_tz(request),
            )  # fmt: skip
    except KetacareError as exc:
        return _sign_page(request, db, actor, patient, now, _errors(exc), form, _status(exc))
    return RedirectResponse(f"/patients/{patient.id}/rems", status_code=303)


@router.post(
    "/patients/{patient_id}/rems/enrolment-form/{enrolment_document_id}/countersign",
    response_class=HTMLResponse,
)
def countersign_enrolment_form(
    request: Request,
    patient: PagePatient,
    enrolment_document_id: RowId,
    actor: PageActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """The prescriber countersigns: the patient is enrolled from today (clinic date)."""
    try:
        with db.begin_nested():
            service.countersign_enrolment(
                db, actor, patient, enrolment_document_id, now, page_tz(request)
            )
    except KetacareError as exc:
        return _patient_page(request, db, actor, patient, settings, now, _errors(exc), _status(exc))
    return RedirectResponse(f"/patients/{patient.id}/rems", status_code=303)


@router.get(
    "/patients/{patient_id}/rems/enrolment-form/{enrolment_document_id}.pdf",
    response_class=Response,
)
def enrolment_form_pdf(
    patient: PagePatient, enrolment_document_id: RowId, actor: PageActor, db: DbDep
) -> Response:
    """One signed enrolment form document as PDF (every read audited)."""
    doc = service.enrolment_document(db, patient, enrolment_document_id)
    pdf = consent.read_document(db, actor, doc)
    headers = {"Content-Disposition": f'inline; filename="rems-enrolment-{doc.id}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.post("/patients/{patient_id}/rems/withdrawal", response_class=HTMLResponse)
def withdraw(
    request: Request,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """End the patient's enrolment (a new record)."""
    try:
        views.require(actor, views.ENROLERS)
        with db.begin_nested():
            service.withdraw(db, actor, patient, form.get("note", ""), now, page_tz(request))
    except KetacareError as exc:
        return _patient_page(request, db, actor, patient, settings, now, _errors(exc), _status(exc))
    return RedirectResponse(f"/patients/{patient.id}/rems", status_code=303)


@router.get("/sessions/{session_id}/pmf.pdf", response_class=Response)
def pmf_pdf(
    s: PageSession, actor: PageActor, db: DbDep, settings: SettingsDep, now: NowDep
) -> Response:
    """The session's PMF as PDF in the revision of its date (audited export)."""
    doc = service.read_pmf(db, actor, s, settings, now)
    headers = {"Content-Disposition": f'inline; filename="pmf-session-{s.id}.pdf"'}
    return Response(doc.pdf, media_type="application/pdf", headers=headers)


@router.post("/sessions/{session_id}/pmf-submission", response_class=HTMLResponse)
def submit(
    request: Request,
    s: PageSession,
    actor: PageActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """Mark the signed session's PMF submitted (portal confirmation number, or fax)."""
    try:
        views.require(actor, views.STAFF)
        sender = fax.configured(settings.rems_fax_dir)
        with db.begin_nested():
            service.submit_pmf(
                db,
                actor,
                s,
                settings,
                now,
                form.get("channel", ""),
                form.get("confirmation", ""),
                sender,
            )
    except KetacareError as exc:
        return _rems_page(request, db, actor, settings, now, _errors(exc), _status(exc))
    return RedirectResponse("/rems", status_code=303)
