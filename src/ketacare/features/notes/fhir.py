"""The signed clinical notes of patients as FHIR records (for the FHIR export)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from ketacare.features.notes import queries
from ketacare.fhir.notes import NoteRecord, note_resources


def records(db: Session, patient_ids: Sequence[int]) -> list[NoteRecord]:
    """The patients' signed notes, in signing order per patient."""
    out = []
    for n in queries.signed_notes_of(db, patient_ids):
        assert n.signed_at is not None
        out.append(
            NoteRecord(
                id=n.id,
                patient_id=n.patient_id,
                kind=n.kind,
                title=n.title,
                author_id=n.author_id,
                author_email=n.author_email,
                signed_at=n.signed_at,
                document=n.document,
                sha256=n.content_hash,
                addendum_of=n.addendum_of_id,
                session_id=n.session_id,
            )
        )
    return out


def resources(db: Session, patient_ids: Sequence[int]) -> list[dict[str, Any]]:
    """DocumentReference resources of the patients' signed notes."""
    return note_resources(records(db, patient_ids))
