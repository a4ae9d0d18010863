"""Every SQL statement of clinical notes (the routes never query)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ketacare.features._kit.errors import NotFound
from ketacare.features.assessments.models import Assessment
from ketacare.features.notes.models import ClinicalNote, NoteTemplateVersion
from ketacare.features.patients.models import Patient
from ketacare.features.registry import CHART_NOTES_ORDER, ChartPanel
from ketacare.features.sessions.models import TreatmentSession


def clinic_templates(db: Session, clinic_id: int) -> list[NoteTemplateVersion]:
    """The newest version of each of the clinic's own templates, by key."""
    newest = (
        select(NoteTemplateVersion.key, func.max(NoteTemplateVersion.version).label("v"))
        .where(NoteTemplateVersion.clinic_id == clinic_id)
        .group_by(NoteTemplateVersion.key)
        .subquery()
    )
    return list(
        db.execute(
            select(NoteTemplateVersion)
            .join(
                newest,
                (newest.c.key == NoteTemplateVersion.key)
                & (newest.c.v == NoteTemplateVersion.version),
            )
            .where(NoteTemplateVersion.clinic_id == clinic_id)
            .order_by(NoteTemplateVersion.key)
        ).scalars()
    )


def newest_template_version(db: Session, clinic_id: int, key: str) -> int:
    """The clinic's newest version number of template ``key`` (0: none)."""
    found = db.execute(
        select(func.max(NoteTemplateVersion.version)).where(
            NoteTemplateVersion.clinic_id == clinic_id, NoteTemplateVersion.key == key
        )
    ).scalar_one()
    return int(found or 0)


def latest_assessments(db: Session, patient_id: int) -> list[Assessment]:
    """The newest scored assessment (one with a total) of each of the patient's instruments."""
    newest = (
        select(Assessment.instrument_id, func.max(Assessment.completed_at).label("at"))
        .where(Assessment.patient_id == patient_id, Assessment.total.is_not(None))
        .group_by(Assessment.instrument_id)
        .subquery()
    )
    rows = db.execute(
        select(Assessment)
        .join(
            newest,
            (newest.c.instrument_id == Assessment.instrument_id)
            & (newest.c.at == Assessment.completed_at),
        )
        .where(Assessment.patient_id == patient_id, Assessment.total.is_not(None))
        .order_by(Assessment.instrument_id, Assessment.id.desc())
    ).scalars()
    seen: dict[str, Assessment] = {}
    for a in rows:
        seen.setdefault(a.instrument_id, a)
    return list(seen.values())


def session_of_patient(db: Session, patient_id: int, session_id: int) -> TreatmentSession:
    """The patient's session (NotFound naming ``session_id`` otherwise)."""
    row = db.get(TreatmentSession, session_id)
    if row is None or row.patient_id != patient_id:
        raise NotFound("no such session of this patient", "session_id")
    return row


def get_note(db: Session, patient_id: int, note_id: int) -> ClinicalNote:
    """A note of the patient (404 otherwise)."""
    row = db.get(ClinicalNote, note_id)
    if row is None or row.patient_id != patient_id:
        raise NotFound("no such note")
    return row


def patient_notes(db: Session, patient_id: int) -> list[ClinicalNote]:
    """Every note of the patient, newest first (drafts by creation, signed by signature)."""
    return list(
        db.execute(
            select(ClinicalNote)
            .where(ClinicalNote.patient_id == patient_id)
            .order_by(func.coalesce(ClinicalNote.signed_at, ClinicalNote.created_at).desc())
            .order_by(ClinicalNote.id.desc())
        ).scalars()
    )


def session_notes(db: Session, session_id: int) -> list[ClinicalNote]:
    """The notes written in a treatment session, oldest first."""
    return list(
        db.execute(
            select(ClinicalNote)
            .where(ClinicalNote.session_id == session_id)
            .order_by(ClinicalNote.created_at, ClinicalNote.id)
        ).scalars()
    )


def addenda_of(db: Session, note_ids: Sequence[int]) -> list[ClinicalNote]:
    """The addenda of the notes, oldest first."""
    if not note_ids:
        return []
    return list(
        db.execute(
            select(ClinicalNote)
            .where(ClinicalNote.addendum_of_id.in_(note_ids))
            .order_by(ClinicalNote.created_at, ClinicalNote.id)
        ).scalars()
    )


def notes_for_chart(db: Session, patient_id: int, limit: int = 5) -> list[ClinicalNote]:
    """The patient's latest signed notes (addenda included), newest first: one statement.

    For the patient chart (issue 21.1), which audits its own read of the patient; the
    panel (:func:`chart_panel`, ``templates/notes/_chart_notes_panel.html``) shows them.
    """
    return list(
        db.execute(
            select(ClinicalNote)
            .where(ClinicalNote.patient_id == patient_id, ClinicalNote.status == "signed")
            .order_by(ClinicalNote.signed_at.desc(), ClinicalNote.id.desc())
            .limit(max(1, min(limit, 100)))
        ).scalars()
    )


def signed_notes_of(db: Session, patient_ids: Sequence[int]) -> list[ClinicalNote]:
    """The patients' signed notes, by patient then signing order (the FHIR export)."""
    if not patient_ids:
        return []
    return list(
        db.execute(
            select(ClinicalNote)
            .where(ClinicalNote.patient_id.in_(patient_ids), ClinicalNote.status == "signed")
            .order_by(ClinicalNote.patient_id, ClinicalNote.signed_at, ClinicalNote.id)
        ).scalars()
    )


def save_draft(
    db: Session, note_id: int, version: int, sections: list[dict[str, Any]], now: datetime
) -> bool:
    """Store new section texts of a draft still at ``version``; False if it changed or was
    signed meanwhile (one statement, so two writers cannot both succeed)."""
    result = db.execute(
        update(ClinicalNote)
        .where(
            ClinicalNote.id == note_id,
            ClinicalNote.status == "draft",
            ClinicalNote.version == version,
        )
        .values(sections=sections, version=version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def mark_signed(
    db: Session, note_id: int, version: int, document: str, digest: str, now: datetime
) -> bool:
    """Sign the draft still at ``version``; False if another request signed or changed it."""
    result = db.execute(
        update(ClinicalNote)
        .where(
            ClinicalNote.id == note_id,
            ClinicalNote.status == "draft",
            ClinicalNote.version == version,
        )
        .values(
            status="signed",
            signed_at=now,
            document=document,
            content_hash=digest,
            version=version + 1,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def session_page_context(db: Session, session_id: int) -> dict[str, object]:
    """The registered ``session_page`` hook: the session's notes (title, author, state and
    time only; the text is read on the note's page, audited there). The session page's read
    is audited with the patient by the sessions feature."""
    return {"session_notes": session_notes(db, session_id)}


def chart_panel(
    db: Session,
    actor: object,  # noqa: ARG001 - the chart audits its own read of the patient
    patient: Patient,
    now: datetime,  # noqa: ARG001
    settings: object,  # noqa: ARG001
) -> list[ChartPanel]:
    """The registered ``chart_panels`` hook: the latest signed notes on the patient chart."""
    notes = notes_for_chart(db, patient.id)
    context = {"chart_notes": notes, "patient_id": patient.id}
    return [
        ChartPanel("notes", "Notes", "notes/_chart_notes_panel.html", context, CHART_NOTES_ORDER)
    ]
