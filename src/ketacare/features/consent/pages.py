"""Consent pages: the clinic's templates and re-consent list (``/consent``), a patient's
consents (``/patients/{id}/consent``) and the tablet signing page with a drawn signature."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep
from ketacare.features._kit.errors import KetacareError
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import page_tz, render
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import PageActor
from ketacare.features.consent import service
from ketacare.features.patients.deps import PagePatient
from ketacare.features.patients.models import Patient

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _errors(exc: KetacareError) -> list[dict[str, str]]:
    return [exc.detail()]


def _clinic_page(
    request: Request, db: DbDep, actor: Actor, errors: list[dict[str, str]] | None = None,
    status: int = 200,
) -> Response:  # fmt: skip
    assert actor.clinic_id is not None
    check = request.app.state.settings.consent_reconsent_on_protocol_change
    due = service.reconsent_list(db, actor, check)
    edit = request.query_params.get("edit", "")
    ctx: dict[str, Any] = {
        # The consent forms, then the REMS Patient Enrollment Form (edited here too, issue 19).
        "templates": service.latest_templates(
            db, actor.clinic_id, service.CONSENT, service.REMS_ENROLMENT
        ),
        # ?edit=<template id>: the form starts from that version's text.
        "edit": service.get_template(db, actor.clinic_id, int(edit), kind=None)
        if edit.isdigit() and len(edit) < 12
        else None,
        "reconsent": due,
        "errors": errors or [],
        "is_admin": actor.user is not None and actor.user.role.value == "admin",
    }
    return render(request, "consent/clinic.html", ctx, status_code=status)


@router.get("/consent", response_class=HTMLResponse)
def clinic_page(request: Request, actor: PageActor, db: DbDep) -> Response:
    """The clinic's consent templates (newest versions) and the patients to re-consent."""
    return _clinic_page(request, db, actor)


@router.post("/consent/templates", response_class=HTMLResponse)
def add_version(
    request: Request, actor: PageActor, db: DbDep, now: NowDep, form: FormFields
) -> Response:
    """Save a new version of a template (admins)."""
    assert actor.clinic_id is not None
    data = service.TemplateInput(
        key=form.get("key", ""),
        title=form.get("title", ""),
        body=form.get("body", ""),
        attestation=form.get("attestation", "") or service.ATTESTATION,
        routes=form.get("routes", ""),
        countersign=form.get("countersign") == "on",
        document_kind=None,  # an existing key keeps its kind (the REMS enrolment form's too)
    )
    try:
        with db.begin_nested():
            service.new_version(db, actor, actor.clinic_id, data, now)
    except KetacareError as exc:
        return _clinic_page(request, db, actor, _errors(exc), exc.status_code)
    return RedirectResponse("/consent", status_code=303)


def _patient_page(
    request: Request, db: DbDep, actor: Actor, patient: Patient,
    errors: list[dict[str, str]] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    shown = service.patient_consents(
        db, actor, patient, request.app.state.settings.consent_reconsent_on_protocol_change
    )
    ctx = {
        "patient": patient,
        "states": shown.states,
        "documents": shown.documents,
        "errors": errors or [],
    }
    return render(request, "consent/patient.html", ctx, status_code=status)


@router.get("/patients/{patient_id}/consent", response_class=HTMLResponse)
def patient_page(request: Request, patient: PagePatient, actor: PageActor, db: DbDep) -> Response:
    """The patient's consents: state per template, documents, countersign and revoke."""
    return _patient_page(request, db, actor, patient)


@router.get("/patients/{patient_id}/consent/{template_id}/sign", response_class=HTMLResponse)
def sign_page(request: Request, patient: PagePatient, template_id: RowId, db: DbDep) -> Response:
    """The tablet page: the consent text, a signature pad, typed name and the attestation."""
    template = service.get_template(db, patient.clinic_id, template_id)
    ctx = {"patient": patient, "template": template, "errors": [], "values": {}}
    return render(request, "consent/sign.html", ctx)


@router.post("/patients/{patient_id}/consent/{template_id}/sign", response_class=HTMLResponse)
def sign(
    request: Request,
    patient: PagePatient,
    template_id: RowId,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """Store the signed consent (the drawn signature arrives as a PNG data URL)."""
    template = service.get_template(db, patient.clinic_id, template_id)
    try:
        png = service.signature_from_form(form.get("signature", ""))
        with db.begin_nested():
            service.sign(
                db, actor, patient, template, form.get("typed_name", ""),
                form.get("attested") == "on", png, now, page_tz(request),
            )  # fmt: skip
    except KetacareError as exc:
        ctx = {"patient": patient, "template": template, "errors": _errors(exc), "values": form}
        return render(request, "consent/sign.html", ctx, status_code=exc.status_code)
    return RedirectResponse(f"/patients/{patient.id}/consent", status_code=303)


@router.post("/consent-documents/{document_id}/countersign", response_class=HTMLResponse)
def countersign(
    request: Request, document_id: RowId, actor: PageActor, db: DbDep, now: NowDep
) -> Response:
    """Countersign a patient's signed consent."""
    assert actor.clinic_id is not None
    doc = service.get_document(db, actor.clinic_id, document_id)
    patient = service.document_patient(db, doc)
    try:
        with db.begin_nested():
            service.countersign(db, actor, doc, now, page_tz(request))
    except KetacareError as exc:
        return _patient_page(request, db, actor, patient, _errors(exc), exc.status_code)
    return RedirectResponse(f"/patients/{patient.id}/consent", status_code=303)


@router.post("/consent-documents/{document_id}/revoke", response_class=HTMLResponse)
def revoke(
    request: Request,
    document_id: RowId,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """Record the patient's withdrawal of consent (a new document)."""
    assert actor.clinic_id is not None
    doc = service.get_document(db, actor.clinic_id, document_id)
    patient = service.document_patient(db, doc)
    try:
        with db.begin_nested():
            service.revoke(db, actor, doc, form.get("reason", ""), now, page_tz(request))
    except KetacareError as exc:
        return _patient_page(request, db, actor, patient, _errors(exc), exc.status_code)
    return RedirectResponse(f"/patients/{patient.id}/consent", status_code=303)


@router.get("/consent-documents/{document_id}.pdf", response_class=Response)
def document_pdf(document_id: RowId, actor: PageActor, db: DbDep) -> Response:
    """The signed document as PDF (every read audited)."""
    assert actor.clinic_id is not None
    doc = service.get_document(db, actor.clinic_id, document_id)
    pdf = service.read_document(db, actor, doc)
    headers = {"Content-Disposition": f'inline; filename="consent-{doc.id}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)
