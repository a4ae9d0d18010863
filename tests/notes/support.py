"""Shared helpers of the note tests: a signed note made through the service."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import User
from ketacare.features.notes import service
from ketacare.features.patients.models import Patient

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def signed_note(db: Session, clinician: User, patient: Patient, text: str = "Stable.") -> int:
    """A progress note written and signed by ``clinician`` (committed); its id."""
    actor = Actor.for_user(clinician, "page")
    data = service.NewNote("progress-note", None, {"plan": text})
    note = service.create_note(db, actor, patient, data, T0, "UTC")
    service.sign_note(db, actor, note, T0)
    note_id = note.id
    db.commit()
    return note_id


def matrix_params(db: Session, clinician: User, patient: Patient) -> dict[str, str]:
    """The access matrix's ``note_id``: a signed progress note of clinic A's patient."""
    return {"note_id": str(signed_note(db, clinician, patient))}
