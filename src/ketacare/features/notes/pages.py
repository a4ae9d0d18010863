"""Note pages: a patient's notes (``/patients/{id}/notes``), a new note from a template, the
draft editor, the signing confirmation, addenda, and the nursing note of a session page."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain.notes.templates import KIND_LABELS
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.errors import BadRequest, KetacareError
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import page_tz, render
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import PageActor
from ketacare.features.intake.service import rules_config
from ketacare.features.notes import service
from ketacare.features.notes.models import ClinicalNote
from ketacare.features.patients.deps import PagePatient
from ketacare.features.patients.models import Patient

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
SECTION_PREFIX = "section."


def _errors(exc: KetacareError) -> list[dict[str, str]]:
    return [exc.detail()]


def _texts(form: dict[str, str]) -> dict[str, object]:
    return {k[len(SECTION_PREFIX) :]: v for k, v in form.items() if k.startswith(SECTION_PREFIX)}


def _version(form: dict[str, str]) -> int:
    raw = form.get("version", "")
    if not raw.isdigit() or not 1 <= int(raw) <= 2_147_483_647:
        raise BadRequest("reload the page: the form has no valid version", "version")
    return int(raw)


def _list_page(
    request: Request, db: DbDep, actor: Actor, patient: Patient,
    errors: list[dict[str, str]] | None = None, status: int = 200,
) -> Response:  # fmt: skip
    assert actor.clinic_id is not None
    ctx: dict[str, Any] = {
        "patient": patient,
        "notes": service.list_notes(db, actor, patient),
        "templates": [
            t
            for t in service.templates_for(db, actor.clinic_id)
            if actor.user is not None and actor.user.role in service.WRITERS[t.kind]
        ],
        "kind_labels": KIND_LABELS,
        "errors": errors or [],
    }
    return render(request, "notes/list.html", ctx, status_code=status)


@router.get("/patients/{patient_id}/notes", response_class=HTMLResponse)
def notes_page(request: Request, patient: PagePatient, actor: PageActor, db: DbDep) -> Response:
    """The patient's notes (drafts and signed, addenda under their note) and "New note"."""
    return _list_page(request, db, actor, patient)


@router.post("/patients/{patient_id}/notes", response_class=HTMLResponse)
def new_note(
    request: Request,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    settings: SettingsDep,
    form: FormFields,
) -> Response:
    """Make a draft from the chosen template (pre-filled) and open its editor."""
    try:
        with db.begin_nested():
            data = service.NewNote(form.get("template", ""))
            note = service.create_note(
                db, actor, patient, data, now, page_tz(request), rules_config(settings)
            )
    except KetacareError as exc:
        return _list_page(request, db, actor, patient, _errors(exc), exc.status_code)
    return RedirectResponse(f"/patients/{patient.id}/notes/{note.id}", status_code=303)


def _note_page(
    request: Request, db: DbDep, actor: Actor, patient: Patient, note: ClinicalNote,
    errors: list[dict[str, str]] | None = None, status: int = 200,
    posted: dict[str, str] | None = None, template: str = "notes/note.html",
) -> Response:  # fmt: skip
    parent = None
    if note.addendum_of_id is not None:
        parent = service.note_or_404(db, patient, note.addendum_of_id)
    ctx: dict[str, Any] = {
        "patient": patient,
        "note": note,
        "parent": parent,
        "addenda": service.addenda(db, note),
        "can_edit": note.status == "draft"
        and actor.user is not None
        and actor.user.id == note.author_id,
        "can_addend": note.status == "signed"
        and actor.user is not None
        and actor.user.role in service.WRITERS[note.kind],
        "kind_labels": KIND_LABELS,
        "errors": errors or [],
        "posted": posted or {},
    }
    return render(request, template, ctx, status_code=status)


@router.get("/patients/{patient_id}/notes/{note_id}", response_class=HTMLResponse)
def note_page(
    request: Request, note_id: RowId, patient: PagePatient, actor: PageActor, db: DbDep
) -> Response:
    """A note: its editor while it is its author's draft, else the signed document."""
    note = service.open_note(db, actor, patient, note_id)
    return _note_page(request, db, actor, patient, note)


@router.post("/patients/{patient_id}/notes/{note_id}", response_class=HTMLResponse)
def save_note(
    request: Request,
    note_id: RowId,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """Save the draft; with ``then=sign`` go on to the signing confirmation."""
    note = service.open_note(db, actor, patient, note_id)
    try:
        with db.begin_nested():
            service.save_draft(db, actor, note, _texts(form), _version(form), now)
    except KetacareError as exc:
        db.expire(note)
        return _note_page(request, db, actor, patient, note, _errors(exc), exc.status_code, form)
    target = f"/patients/{patient.id}/notes/{note.id}"
    return RedirectResponse(target + ("/sign" if form.get("then") == "sign" else ""), 303)


@router.get("/patients/{patient_id}/notes/{note_id}/sign", response_class=HTMLResponse)
def sign_page(
    request: Request, note_id: RowId, patient: PagePatient, actor: PageActor, db: DbDep
) -> Response:
    """Confirm: the note as it will be signed, and what signing means."""
    note = service.open_note(db, actor, patient, note_id)
    if note.status != "draft":
        return RedirectResponse(f"/patients/{patient.id}/notes/{note.id}", status_code=303)
    return _note_page(request, db, actor, patient, note, template="notes/sign.html")


@router.post("/patients/{patient_id}/notes/{note_id}/sign", response_class=HTMLResponse)
def sign_note(
    request: Request,
    note_id: RowId,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """Sign the draft (the version shown on the confirmation page)."""
    note = service.open_note(db, actor, patient, note_id)
    try:
        with db.begin_nested():
            service.sign_note(db, actor, note, now, _version(form))
    except KetacareError as exc:
        db.expire(note)
        return _note_page(
            request, db, actor, patient, note, _errors(exc), exc.status_code,
            template="notes/sign.html",
        )  # fmt: skip
    return RedirectResponse(f"/patients/{patient.id}/notes/{note.id}", status_code=303)


@router.post("/patients/{patient_id}/notes/{note_id}/addenda", response_class=HTMLResponse)
def add_addendum(
    request: Request,
    note_id: RowId,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
) -> Response:
    """Start a draft addendum to a signed note and open its editor."""
    parent = service.open_note(db, actor, patient, note_id)
    try:
        with db.begin_nested():
            note = service.add_addendum(db, actor, patient, parent, now)
    except KetacareError as exc:
        return _note_page(request, db, actor, patient, parent, _errors(exc), exc.status_code)
    return RedirectResponse(f"/patients/{patient.id}/notes/{note.id}", status_code=303)


@router.post("/sessions/{session_id}/notes", response_class=HTMLResponse)
def session_note(
    request: Request,
    session_id: RowId,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """The nursing note of the session page: saved as a draft, or signed at once."""
    back = f"/sessions/{session_id}"
    session, patient = service.open_session_patient(db, actor, session_id)
    try:
        with db.begin_nested():
            service.session_note(
                db, actor, patient, session.id, form.get("text", ""),
                form.get("action") == "sign", now, page_tz(request),
            )  # fmt: skip
    except KetacareError as exc:
        ctx = {"patient": patient, "session_id": session.id, "errors": _errors(exc), "posted": form}
        return render(request, "notes/session_error.html", ctx, status_code=exc.status_code)
    return RedirectResponse(back + "#nursing-notes", status_code=303)
