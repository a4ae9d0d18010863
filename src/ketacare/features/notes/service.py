"""Clinical-note use cases: templates, drafts pre-filled from the record, edits by the author,
signature (once, by one request), addenda. Every read and write is audited with the patient;
services ``flush()``, never ``commit()``.

Who may write: a nursing note, a nurse or a clinician; a psychiatric evaluation or a progress
note, a clinician; an addendum, whoever may write the kind of the note it amends. Only the
author edits or signs a draft. Admins read notes and manage templates (with clinicians).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.intake.verdict import IntakeRulesConfig, assess_intake
from ketacare.domain.notes import compose
from ketacare.domain.notes.templates import (
    ADDENDUM,
    KIND_LABELS,
    NoteTemplate,
    default_templates,
    parse_template,
)
from ketacare.features._kit import clock
from ketacare.features._kit.errors import BadRequest, Forbidden, KetacareError, NotFound
from ketacare.features._kit.labels import BAND_LABELS, instrument_label
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.intake.service import current_intake, intake_of
from ketacare.features.notes import queries
from ketacare.features.notes.models import ClinicalNote, NoteTemplateVersion
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.models import TreatmentSession
from ketacare.features.sessions.service import open_session

MAX_TEXT = 20_000
ADDENDUM_KEY = "addendum"
#: Who may write each kind of note (and its addenda).
WRITERS: dict[str, frozenset[Role]] = {
    "nursing": frozenset({Role.nurse, Role.clinician}),
    "progress": frozenset({Role.clinician}),
    "psychiatric_evaluation": frozenset({Role.clinician}),
}
TEMPLATE_EDITORS = frozenset({Role.admin, Role.clinician})


class Conflict(KetacareError):
    """The draft was signed or changed by another request meanwhile."""

    status_code = 409


def _role(actor: Actor) -> Role | None:
    return actor.user.role if actor.user is not None else None


def _require_writer(actor: Actor, kind: str) -> None:
    if _role(actor) not in WRITERS[kind]:
        who = "a nurse or a clinician" if kind == "nursing" else "a clinician"
        raise Forbidden(f"only {who} may write a {KIND_LABELS[kind].lower()}")


def _require_author(actor: Actor, note: ClinicalNote) -> None:
    if actor.user is None or actor.user.id != note.author_id:
        raise Forbidden("only the author may change or sign this draft")


def _text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise BadRequest("must be text", field)
    if "\x00" in value:
        raise BadRequest("must not contain NUL characters", field)
    text = value.replace("\r\n", "\n").strip()
    if len(text) > MAX_TEXT:
        raise BadRequest(f"must be at most {MAX_TEXT} characters", field)
    return text


# --- Templates -------------------------------------------------------------------------------


def templates_for(db: Session, clinic_id: int) -> list[NoteTemplate]:
    """The templates a clinic writes from: each shipped default unless the clinic has its own
    version of that key, and the clinic's own keys; by kind, then title."""
    out = {t.key: t for t in default_templates()}
    for row in queries.clinic_templates(db, clinic_id):
        out[row.key] = parse_template(row.definition)
    order = {kind: i for i, kind in enumerate(WRITERS)}
    return sorted(out.values(), key=lambda t: (order.get(t.kind, 9), t.title, t.key))


def find_template(db: Session, clinic_id: int, key: str) -> NoteTemplate:
    """The clinic's template ``key`` (422 naming ``template`` otherwise)."""
    for t in templates_for(db, clinic_id):
        if t.key == key:
            return t
    raise BadRequest("no such note template", "template")


def add_template(
    db: Session, actor: Actor, clinic_id: int, data: object, now: datetime, check_role: bool = True
) -> NoteTemplateVersion:
    """Add the next version of a template (admins and clinicians; ``check_role=False`` for the
    CLI). The version is the next after the clinic's and the shipped one; notes already
    written keep the sections they were written with."""
    if check_role and _role(actor) not in TEMPLATE_EDITORS:
        raise Forbidden("only admins and clinicians may add note templates")
    if isinstance(data, Mapping):
        data = {k: v for k, v in data.items() if k != "version"}
    try:
        parsed = parse_template(data)
    except InvalidAnswer as exc:
        raise BadRequest(exc.reason, exc.field) from None
    if parsed.key == ADDENDUM_KEY:
        raise BadRequest("'addendum' is reserved", "key")
    shipped = max((t.version for t in default_templates() if t.key == parsed.key), default=0)
    version = max(shipped, queries.newest_template_version(db, clinic_id, parsed.key)) + 1
    definition = parse_template({**parsed.as_dict(), "version": version}).as_dict()
    row = NoteTemplateVersion(
        clinic_id=clinic_id,
        key=parsed.key,
        version=version,
        kind=parsed.kind,
        title=parsed.title,
        definition=definition,
        created_by=actor.label,
        created_at=now,
    )
    db.add(row)
    db.flush()
    record(db, actor, "create", "note_template", row.id, clinic_id=clinic_id)
    return row


# --- Pre-filled text ---------------------------------------------------------------------------


def score_lines(db: Session, patient_id: int, tz: clock.TzLike) -> list[compose.ScoreLine]:
    """The latest total of each instrument the patient has, with its band, by instrument."""
    lines = []
    for a in queries.latest_assessments(db, patient_id):
        on = clock.local_date(a.completed_at, tz)
        assert on is not None
        band = BAND_LABELS.get(a.band or "", (a.band or "").replace("_", " ")) or None
        lines.append(compose.ScoreLine(instrument_label(a.instrument_id), a.total, band, on))
    return sorted(lines, key=lambda s: s.instrument)


def verdict_summary(
    db: Session, patient_id: int, tz: clock.TzLike, config: IntakeRulesConfig | None = None
) -> compose.VerdictSummary | None:
    """The verdict of the patient's current intake (None without one)."""
    rec = current_intake(db, patient_id)
    if rec is None:
        return None
    v = assess_intake(intake_of(rec), config or IntakeRulesConfig())
    on = rec.assessed_on or clock.local_date(rec.created_at, tz)
    assert on is not None
    return compose.VerdictSummary(
        on=on,
        version=rec.version,
        iv_ketamine=v.iv_ketamine.status,
        esketamine=v.esketamine.status,
        trd=v.trd.trd,
        adequate_failures=v.trd.adequate_failures,
        maudsley_total=v.msm.total,
        maudsley_band=v.msm.band,
        thase_rush_stage=v.thase_rush.stage,
        pathway=v.pathway.primary,
    )


def prefill(
    db: Session, patient_id: int, tz: clock.TzLike, config: IntakeRulesConfig | None = None
) -> dict[str, str]:
    """The pre-filled texts, by ``prefill`` name (``scores``, ``intake``)."""
    return {
        "scores": compose.scores_text(score_lines(db, patient_id, tz)),
        "intake": compose.intake_text(verdict_summary(db, patient_id, tz, config)),
    }


# --- Notes -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewNote:
    """What a new note starts from: a template, the session it belongs to, typed texts."""

    template: str
    session_id: int | None = None
    texts: Mapping[str, object] | None = None


def _sections(template: NoteTemplate, filled: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {
            "id": s.id,
            "title": s.title,
            "hint": s.hint,
            "prefill": s.prefill,
            "text": filled.get(s.prefill, "") if s.prefill else "",
        }
        for s in template.sections
    ]


def _apply_texts(sections: list[dict[str, Any]], texts: Mapping[str, object]) -> None:
    ids = {s["id"] for s in sections}
    for key in texts:
        if key not in ids:
            raise BadRequest("no such section in this note", f"sections.{key}")
    for s in sections:
        if s["id"] in texts:
            s["text"] = _text(texts[s["id"]], f"sections.{s['id']}")


def create_note(
    db: Session,
    actor: Actor,
    patient: Patient,
    data: NewNote,
    now: datetime,
    tz: clock.TzLike,
    config: IntakeRulesConfig | None = None,
) -> ClinicalNote:
    """A draft from template ``data.template``, its ``scores`` and ``intake`` sections filled
    from the record as it is now; typed texts (by section id) replace the pre-filled ones."""
    assert actor.user is not None
    template = find_template(db, patient.clinic_id, data.template)
    _require_writer(actor, template.kind)
    session_id = None
    if data.session_id is not None:
        session_id = queries.session_of_patient(db, patient.id, data.session_id).id
    needs = {s.prefill for s in template.sections if s.prefill}
    filled = prefill(db, patient.id, tz, config) if needs else {}
    sections = _sections(template, filled)
    _apply_texts(sections, data.texts or {})
    note = ClinicalNote(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        session_id=session_id,
        kind=template.kind,
        template_key=template.key,
        template_version=template.version,
        title=template.title,
        sections=sections,
        status="draft",
        version=1,
        author_id=actor.user.id,
        author_email=actor.user.email,
        author_role=actor.user.role.value,
        created_at=now,
        updated_at=now,
    )
    db.add(note)
    db.flush()
    record(db, actor, "create", "clinical_note", note.id, patient.id)
    return note


def list_notes(db: Session, actor: Actor, patient: Patient) -> list[ClinicalNote]:
    """Every note of the patient, newest first (audited as a list of the patient's notes)."""
    notes = queries.patient_notes(db, patient.id)
    record(db, actor, "list", "clinical_note", "", patient.id, patients=[patient.id])
    return notes


def open_note(db: Session, actor: Actor, patient: Patient, note_id: int) -> ClinicalNote:
    """A note of the patient (404 otherwise), audited as a read."""
    note = queries.get_note(db, patient.id, note_id)
    record(db, actor, "read", "clinical_note", note.id, patient.id)
    return note


def addenda(db: Session, note: ClinicalNote) -> list[ClinicalNote]:
    """The addenda of a note (read with the note, under its audit event)."""
    return queries.addenda_of(db, [note.id])


def save_draft(
    db: Session,
    actor: Actor,
    note: ClinicalNote,
    texts: Mapping[str, object],
    version: int | None,
    now: datetime,
) -> ClinicalNote:
    """Store the author's new texts (by section id) of a draft; ``version`` (the one the
    author edited) guards against a lost update: an older one is a 409."""
    if note.status != "draft":
        raise Conflict("this note is signed: write an addendum", "status")
    _require_author(actor, note)
    sections = [dict(s) for s in note.sections]
    _apply_texts(sections, texts)
    expected = note.version if version is None else version
    if not queries.save_draft(db, note.id, expected, sections, now):
        raise Conflict("the note was changed or signed meanwhile; reload it", "version")
    db.expire(note)
    record(db, actor, "update", "clinical_note", note.id, note.patient_id)
    return note


def sign_note(
    db: Session, actor: Actor, note: ClinicalNote, now: datetime, version: int | None = None
) -> ClinicalNote:
    """Sign the author's draft: the Markdown document and its SHA-256 are stored with the time.
    Exactly one of two simultaneous signatures succeeds; the other gets 409."""
    if note.status != "draft":
        raise Conflict("this note is already signed", "status")
    _require_author(actor, note)
    if not any(str(s.get("text", "")).strip() for s in note.sections):
        raise BadRequest("write something before signing", "sections")
    expected = note.version if version is None else version
    document = compose.document(
        note.title,
        [compose.SectionText(s["id"], s["title"], s.get("text", "")) for s in note.sections],
        note.author_email,
        now,
        note.addendum_of_id,
    )
    digest = compose.content_hash(document)
    if not queries.mark_signed(db, note.id, expected, document, digest, now):
        raise Conflict("the note was signed or changed meanwhile; reload it", "version")
    db.expire(note)
    record(db, actor, "sign", "clinical_note", note.id, note.patient_id)
    return note


def add_addendum(
    db: Session,
    actor: Actor,
    patient: Patient,
    parent: ClinicalNote,
    now: datetime,
    text: object = "",
) -> ClinicalNote:
    """A draft addendum to a signed note (the signed note itself never changes)."""
    assert actor.user is not None
    if parent.status != "signed":
        raise Conflict("only a signed note takes an addendum; edit the draft instead", "status")
    _require_writer(actor, parent.kind)
    note = ClinicalNote(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        session_id=parent.session_id,
        addendum_of_id=parent.id,
        kind=parent.kind,
        template_key=ADDENDUM_KEY,
        template_version=1,
        title=f"Addendum to {parent.title.lower() if parent.title else 'note'} {parent.id}",
        sections=[
            {
                "id": ADDENDUM.id,
                "title": ADDENDUM.title,
                "hint": ADDENDUM.hint,
                "prefill": None,
                "text": _text(text, f"sections.{ADDENDUM.id}"),
            }
        ],
        status="draft",
        version=1,
        author_id=actor.user.id,
        author_email=actor.user.email,
        author_role=actor.user.role.value,
        created_at=now,
        updated_at=now,
    )
    db.add(note)
    db.flush()
    record(db, actor, "create", "clinical_note", note.id, patient.id)
    return note


def chart_notes(db: Session, actor: Actor, patient_id: int, limit: int = 5) -> list[ClinicalNote]:
    """:func:`queries.notes_for_chart`, audited (for a caller that does not audit its page)."""
    notes = queries.notes_for_chart(db, patient_id, limit)
    record(db, actor, "list", "clinical_note", "", patient_id, patients=[patient_id])
    return notes


def note_or_404(db: Session, patient: Patient, note_id: int) -> ClinicalNote:
    """A note of the patient without an audit event (the caller audits its use)."""
    try:
        return queries.get_note(db, patient.id, note_id)
    except NotFound:
        raise NotFound("no such note") from None


NURSING_TEMPLATE = "nursing-note"


def open_session_patient(
    db: Session, actor: Actor, session_id: int
) -> tuple[TreatmentSession, Patient]:
    """A treatment session of the actor's clinic (404 otherwise; audited by the sessions
    feature) and its patient."""
    session = open_session(db, actor, session_id)
    patient = db.get(Patient, session.patient_id)
    assert patient is not None
    return session, patient


def session_note(
    db: Session,
    actor: Actor,
    patient: Patient,
    session_id: int,
    text: object,
    sign: bool,
    now: datetime,
    tz: clock.TzLike,
) -> ClinicalNote:
    """A nursing note of a treatment session (the clinic's ``nursing-note`` template, its
    first section holding ``text``), signed at once when ``sign``."""
    template = find_template(db, patient.clinic_id, NURSING_TEMPLATE)
    _require_writer(actor, template.kind)
    first = template.sections[0].id
    if not _text(text, "text"):
        raise BadRequest("write the note first", "text")
    data = NewNote(template.key, session_id, {first: text})
    note = create_note(db, actor, patient, data, now, tz)
    if sign:
        sign_note(db, actor, note, now)
    return note
