"""FHIR export of signed clinical notes (issue 21.7): golden JSON of DocumentReference
resources (strict R4 and R4B parsing), the attachment decodes to the signed text whose
SHA-256 is the identifier, and an addendum ``relatesTo`` the note it appends."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

from ketacare.domain.notes.compose import SectionText, content_hash, document
from ketacare.fhir.export import collection_bundle
from ketacare.fhir.notes import NoteRecord, note_resources
from tests.fhir.fhir_support import GOLDEN, UPDATE_GOLDEN, validate_both

PATH = GOLDEN / "notes_bundle.json"
T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def record(nid: int, kind: str, title: str, text: str, minute: int, **kw: Any) -> NoteRecord:
    at = T0.replace(minute=minute)
    doc = document(title, [SectionText("s", "Section", text)], "dr@clinic.example", at,
                   kw.get("addendum_of"))  # fmt: skip
    return NoteRecord(nid, 7, kind, title, 3, "dr@clinic.example", at, doc, content_hash(doc), **kw)


def sample() -> dict[str, Any]:
    notes = [
        record(1, "psychiatric_evaluation", "Psychiatric evaluation", "TRD, eligible.", 0),
        record(2, "nursing", "Nursing note", "Calm; BP 128/80 at 40 min.", 10, session_id=5),
        record(3, "progress", "Progress note", "PHQ-9 down to 9.", 20),
        record(4, "psychiatric_evaluation", "Addendum to psychiatric evaluation 1",
               "Allergy: none known.", 30, addendum_of=1),
    ]  # fmt: skip
    return collection_bundle(
        "https://ketacare.example/fhir", note_resources(notes), T0, "ketacare-notes-7"
    )


def test_notes_bundle_matches_golden_file_and_parses_strict() -> None:
    text = json.dumps(sample(), indent=2, ensure_ascii=False) + "\n"
    if UPDATE_GOLDEN:
        PATH.write_text(text, encoding="utf-8")
    assert text == PATH.read_text(encoding="utf-8"), "set KETACARE_UPDATE_GOLDEN=1 to regenerate"
    validate_both(json.loads(text))


def test_attachment_is_the_signed_text_and_addendum_appends() -> None:
    res = {e["resource"]["id"]: e["resource"] for e in sample()["entry"]}
    for r in res.values():
        assert (r["status"], r["docStatus"]) == ("current", "final")
        data = base64.b64decode(r["content"][0]["attachment"]["data"]).decode("utf-8")
        assert content_hash(data) == r["identifier"][1]["value"]
        assert r["author"][0]["display"] == "dr@clinic.example"
        assert r["subject"] == {"reference": "Patient/7"}
    assert res["note-4"]["relatesTo"] == [
        {"code": "appends", "target": {"reference": "DocumentReference/note-1"}}
    ]
    assert "relatesTo" not in res["note-1"]
    assert [r["type"]["coding"][0]["code"] for r in res.values()] == [
        "78306-8", "34746-8", "34904-3", "78306-8"
    ]  # fmt: skip
