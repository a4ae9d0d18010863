"""JSON API of clinical notes under /api/v1 (docs/notes.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import page_tz
from ketacare.features.auth.deps import ApiActor
from ketacare.features.intake.service import rules_config
from ketacare.features.notes import service
from ketacare.features.notes.models import ClinicalNote
from ketacare.features.notes.schemas import (
    AddendumCreate,
    NoteCreate,
    NoteSign,
    NoteUpdate,
    TemplateCreate,
)
from ketacare.features.patients.deps import ApiPatient

router = APIRouter(prefix="/api/v1", tags=["notes"])


def note_dict(n: ClinicalNote, addenda: list[ClinicalNote] | None = None) -> dict[str, Any]:
    """A note as JSON (times in UTC)."""
    out: dict[str, Any] = {
        "id": n.id,
        "patient_id": n.patient_id,
        "session_id": n.session_id,
        "addendum_of": n.addendum_of_id,
        "kind": n.kind,
        "template": {"key": n.template_key, "version": n.template_version},
        "title": n.title,
        "status": n.status,
        "version": n.version,
        "author": n.author_email,
        "created_at": n.created_at.isoformat(),
        "updated_at": n.updated_at.isoformat(),
        "signed_at": n.signed_at.isoformat() if n.signed_at else None,
        "content_hash": n.content_hash or None,
        "sections": [{"id": s["id"], "title": s["title"], "text": s["text"]} for s in n.sections],
    }
    if addenda is not None:
        out["addenda"] = [a.id for a in addenda]
    return out


@router.get("/note-templates")
def list_templates(actor: ApiActor, db: DbDep) -> list[dict[str, Any]]:
    """The templates the clinic writes from (shipped defaults and its own versions)."""
    assert actor.clinic_id is not None
    return [t.as_dict() for t in service.templates_for(db, actor.clinic_id)]


@router.post("/note-templates", status_code=201)
def add_template(body: TemplateCreate, actor: ApiActor, db: DbDep, now: NowDep) -> dict[str, Any]:
    """Add a version of a template (admins and clinicians); the version is assigned."""
    assert actor.clinic_id is not None
    row = service.add_template(db, actor, actor.clinic_id, body.model_dump(), now)
    return dict(row.definition)


@router.get("/patients/{patient_id}/notes")
def list_notes(patient: ApiPatient, actor: ApiActor, db: DbDep) -> list[dict[str, Any]]:
    """The patient's notes, newest first (audited)."""
    return [note_dict(n) for n in service.list_notes(db, actor, patient)]


@router.post("/patients/{patient_id}/notes", status_code=201)
def create_note(
    body: NoteCreate,
    patient: ApiPatient,
    actor: ApiActor,
    db: DbDep,
    now: NowDep,
    settings: SettingsDep,
    request: Request,
) -> dict[str, Any]:
    """A draft from a template, pre-filled with the latest scores and the intake verdict."""
    data = service.NewNote(body.template, body.session_id, body.sections)
    note = service.create_note(
        db, actor, patient, data, now, page_tz(request), rules_config(settings)
    )
    return note_dict(note)


@router.get("/patients/{patient_id}/notes/{note_id}")
def read_note(note_id: RowId, patient: ApiPatient, actor: ApiActor, db: DbDep) -> dict[str, Any]:
    """One note with its addenda' ids (audited)."""
    note = service.open_note(db, actor, patient, note_id)
    return note_dict(note, service.addenda(db, note))


@router.put("/patients/{patient_id}/notes/{note_id}")
def update_note(
    note_id: RowId, body: NoteUpdate, patient: ApiPatient, actor: ApiActor, db: DbDep, now: NowDep
) -> dict[str, Any]:
    """Save the author's texts of a draft (409 if it was changed or signed meanwhile)."""
    note = service.open_note(db, actor, patient, note_id)
    return note_dict(service.save_draft(db, actor, note, body.sections, body.version, now))


@router.post("/patients/{patient_id}/notes/{note_id}/sign")
def sign_note(
    note_id: RowId, body: NoteSign, patient: ApiPatient, actor: ApiActor, db: DbDep, now: NowDep
) -> dict[str, Any]:
    """Sign the author's draft: it never changes again (409 if already signed)."""
    note = service.open_note(db, actor, patient, note_id)
    return note_dict(service.sign_note(db, actor, note, now, body.version))


@router.post("/patients/{patient_id}/notes/{note_id}/addenda", status_code=201)
def add_addendum(
    note_id: RowId,
    body: AddendumCreate,
    patient: ApiPatient,
    actor: ApiActor,
    db: DbDep,
    now: NowDep,
) -> dict[str, Any]:
    """A draft addendum to a signed note."""
    parent = service.open_note(db, actor, patient, note_id)
    return note_dict(service.add_addendum(db, actor, patient, parent, now, body.text))
