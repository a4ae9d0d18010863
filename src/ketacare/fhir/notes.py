"""FHIR R4 ``DocumentReference`` of signed clinical notes (no I/O).

Each signed note is a DocumentReference (``status`` current, ``docStatus`` final) whose
attachment is the signed Markdown document itself (base64), with its SHA-256 as an identifier
(R4's ``Attachment.hash`` is SHA-1, so it is not used). An addendum ``relatesTo`` the note it
amends with code ``appends``. Types are LOINC document codes of the HL7 US Behavioral Health
mental-health note value set and the LOINC nurse note.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ketacare.fhir.export import instant, patient_ref, ref

SHA256_SYSTEM = "urn:ketacare:clinical-note:sha256"
NOTE_ID_SYSTEM = "urn:ketacare:clinical-note"
USER_SYSTEM = "urn:ketacare:user"
LOINC = "http://loinc.org"
#: LOINC document type per kind of note.
TYPES: dict[str, tuple[str, str]] = {
    "psychiatric_evaluation": ("78306-8", "Mental health History and physical note"),
    "progress": ("34904-3", "Mental health Progress note"),
    "nursing": ("34746-8", "Nurse Note"),
}


@dataclass(frozen=True, slots=True)
class NoteRecord:
    """One signed note as the mapping needs it."""

    id: int
    patient_id: int
    kind: str
    title: str
    author_id: int
    author_email: str
    signed_at: datetime
    document: str
    sha256: str
    addendum_of: int | None = None
    session_id: int | None = None


def document_id(note_id: int) -> str:
    """The DocumentReference id of a clinical note."""
    return f"note-{note_id}"


def note_document_reference(n: NoteRecord) -> dict[str, Any]:
    """R4 DocumentReference carrying the signed Markdown document."""
    code, display = TYPES[n.kind]
    author: dict[str, Any] = {
        "identifier": {"system": USER_SYSTEM, "value": str(n.author_id)},
        "display": n.author_email,
    }
    out: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "id": document_id(n.id),
        "identifier": [
            {"system": NOTE_ID_SYSTEM, "value": str(n.id)},
            {"system": SHA256_SYSTEM, "value": n.sha256},
        ],
        "status": "current",
        "docStatus": "final",
        "type": {"coding": [{"system": LOINC, "code": code, "display": display}], "text": n.title},
        "category": [{"text": "clinical-note"}],
        "subject": patient_ref(n.patient_id),
        "date": instant(n.signed_at),
        "author": [author],
        "authenticator": dict(author),
        "description": n.title,
        "content": [
            {
                "attachment": {
                    "contentType": "text/markdown; charset=utf-8",
                    "data": base64.b64encode(n.document.encode("utf-8")).decode("ascii"),
                    "title": f"note-{n.id}.md",
                    "creation": instant(n.signed_at),
                }
            }
        ],
    }
    if n.addendum_of is not None:
        out["relatesTo"] = [
            {"code": "appends", "target": ref("DocumentReference", document_id(n.addendum_of))}
        ]
    if n.session_id is not None:
        out["context"] = {
            "related": [
                {"identifier": {"system": "urn:ketacare:session", "value": str(n.session_id)}}
            ]
        }
    return out


def note_resources(notes: list[NoteRecord]) -> list[dict[str, Any]]:
    """Every signed note's DocumentReference, in the given order."""
    return [note_document_reference(n) for n in notes]
