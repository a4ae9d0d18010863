"""Consent use cases: template versions, signing, countersigning, revocation, verification, the
re-consent list and the session gate. Services audit themselves and ``flush()``.

A signed document is never edited: a countersignature or a revocation is a new document that
supersedes the earlier one (the database allows one successor per document).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.domain.course.consent import PlanFact, protocol_change
from ketacare.domain.sessions.safety import Reason
from ketacare.features._kit import clock
from ketacare.features._kit.errors import BadRequest, Forbidden, KetacareError, NotFound
from ketacare.features._kit.fields import text_field
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.charts.fonts import add_dejavu
from ketacare.features.consent.models import ConsentDocument, ConsentTemplate
from ketacare.features.intake.models import PlanStatus, TreatmentPlan
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.closing import Refused
from ketacare.features.sessions.models import TreatmentSession
from ketacare.settings import Settings

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_SIGNATURE_BYTES = 300_000
ROUTES = ("iv", "im", "esketamine")
SOURCE = "Clinic policy: written informed consent before treatment (IV ketamine is off-label) [U]"

EXAMPLES: tuple[tuple[str, str, str, str, bool], ...] = (
    (
        "iv-ketamine",
        "Consent to IV ketamine treatment (off-label)",
        "Ketamine is approved as an anaesthetic. Its use for depression by intravenous infusion "
        "is off-label: it is not approved by the FDA for this purpose. Possible effects include "
        "dissociation, raised blood pressure and heart rate, nausea, sedation and, rarely, "
        "bladder symptoms with frequent use. You will be monitored during and after each "
        "infusion and must not drive until the next day. Edit this text to your clinic's "
        "consent before use.",
        "iv,im",
        True,
    ),
    (
        "esketamine",
        "Consent to esketamine (SPRAVATO) nasal spray treatment",
        "SPRAVATO is given in this clinic under the SPRAVATO REMS. You will be observed for at "
        "least two hours after each dose and until sedation, dissociation and breathing problems "
        "have resolved; blood pressure is checked before and after dosing. You must not drive "
        "or operate machinery until the next day after restful sleep. Edit this text to your "
        "clinic's consent before use.",
        "esketamine",
        True,
    ),
    (
        "telehealth-photo",
        "Consent to telehealth contacts and clinical photographs",
        "The clinic may contact you by video or telephone for follow-up and may take "
        "photographs for your clinical record. Edit this text to your clinic's consent.",
        "",
        False,
    ),
)
ATTESTATION = "I have read this document, my questions were answered, and I consent."
#: Kinds of signed document the templates make: consents (the consent page, the session gate)
#: and the SPRAVATO REMS Patient Enrollment Form (features/rems, issue 19.2).
CONSENT = "consent"
REMS_ENROLMENT = "rems-enrolment"
DOCUMENT_KINDS = (CONSENT, REMS_ENROLMENT)
#: Who may countersign a document of each kind (the enrolment form: the prescriber).
COUNTERSIGNERS: dict[str, frozenset[Role]] = {
    CONSENT: frozenset({Role.clinician, Role.nurse}),
    REMS_ENROLMENT: frozenset({Role.clinician}),
}


class Conflict(KetacareError):
    """The document was already countersigned or revoked."""

    status_code = 409


def _text(value: str, field: str, limit: int, required: bool = True) -> str:
    return text_field(value, field, limit, required)


def _require(actor: Actor, roles: set[Role], what: str) -> None:
    role = actor.user.role if actor.user is not None else None
    if role not in roles:
        raise Forbidden(f"only {what} may do this")


# --- Templates -------------------------------------------------------------------------------


def latest_templates(db: Session, clinic_id: int, *kinds: str) -> list[ConsentTemplate]:
    """The newest version of each of the clinic's templates of the document ``kinds`` (none
    given: the consent forms), in one statement: in the order of ``kinds``, then by key."""
    kinds = kinds or (CONSENT,)
    newest = (
        select(
            ConsentTemplate.document_kind,
            ConsentTemplate.key,
            func.max(ConsentTemplate.version).label("v"),
        )
        .where(ConsentTemplate.clinic_id == clinic_id, ConsentTemplate.document_kind.in_(kinds))
        .group_by(ConsentTemplate.document_kind, ConsentTemplate.key)
        .subquery()
    )
    rows = db.execute(
        select(ConsentTemplate)
        .join(
            newest,
            (newest.c.document_kind == ConsentTemplate.document_kind)
            & (newest.c.key == ConsentTemplate.key)
            & (newest.c.v == ConsentTemplate.version),
        )
        .where(ConsentTemplate.clinic_id == clinic_id)
        .order_by(ConsentTemplate.key)
    ).scalars()
    order = {kind: i for i, kind in enumerate(kinds)}
    return sorted(rows, key=lambda t: order[t.document_kind])  # stable: by key within a kind


def get_template(
    db: Session, clinic_id: int, template_id: int, kind: str | None = CONSENT
) -> ConsentTemplate:
    """A template of the clinic of document ``kind`` (None: any kind; 404 otherwise)."""
    row = db.get(ConsentTemplate, template_id)
    if (
        row is None
        or row.clinic_id != clinic_id
        or (kind is not None and row.document_kind != kind)
    ):
        raise NotFound("no such consent template")
    return row


@dataclass(frozen=True, slots=True)
class TemplateInput:
    """A new version of a template (``routes``: comma list of iv, im, esketamine;
    ``document_kind`` None: the kind of the key's earlier versions, else a consent form)."""

    key: str
    title: str
    body: str
    attestation: str = ATTESTATION
    routes: str = ""
    countersign: bool = False
    document_kind: str | None = CONSENT


def new_version(
    db: Session,
    actor: Actor,
    clinic_id: int,
    data: TemplateInput,
    now: datetime,
    check_role: bool = True,
) -> ConsentTemplate:
    """Add the next version of template ``key`` (admins; ``check_role=False`` for the CLI);
    earlier versions stay as they were. Patients who signed one are flagged for re-consent."""
    if check_role:
        _require(actor, {Role.admin}, "the clinic's admins")
    key = _text(data.key, "key", 64).lower()
    if not all(c.isalnum() or c == "-" for c in key):
        raise BadRequest("letters, digits and '-' only", "key")
    routes = [r.strip() for r in data.routes.split(",") if r.strip()]
    if any(r not in ROUTES for r in routes):
        raise BadRequest("must list iv, im or esketamine", "routes")
    kinds = set(
        db.execute(
            select(ConsentTemplate.document_kind).where(
                ConsentTemplate.clinic_id == clinic_id, ConsentTemplate.key == key
            )
        ).scalars()
    )
    kind = data.document_kind
    if kind is None:  # a new version of whatever the key already is
        kind = min(kinds) if kinds else CONSENT
    if kind not in DOCUMENT_KINDS:
        raise BadRequest("must be consent or rems-enrolment", "document_kind")
    if kinds and kinds != {kind}:
        raise BadRequest("another kind of document uses this key", "key")
    current = db.execute(
        select(func.max(ConsentTemplate.version)).where(
            ConsentTemplate.clinic_id == clinic_id, ConsentTemplate.key == key
        )
    ).scalar_one()
    row = ConsentTemplate(
        clinic_id=clinic_id,
        key=key,
        version=(current or 0) + 1,
        title=_text(data.title, "title", 200),
        body=_text(data.body, "body", 20_000),
        attestation=_text(data.attestation, "attestation", 500),
        routes=",".join(routes),
        countersign=data.countersign,
        document_kind=kind,
        created_by=actor.label,
        created_at=now,
    )
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        raise Conflict("another version was saved at the same time; reload", "key") from None
    record(db, actor, "create", "consent_template", row.id, clinic_id=clinic_id)
    return row


def seed_examples(
    db: Session, actor: Actor, clinic_id: int, now: datetime, check_role: bool = True
) -> int:
    """Add the example templates the clinic does not have yet; returns how many."""
    have = {t.key for t in latest_templates(db, clinic_id)}
    added = 0
    for key, title, body, routes, countersign in EXAMPLES:
        if key not in have:
            new_version(
                db,
                actor,
                clinic_id,
                TemplateInput(key, title, body, ATTESTATION, routes, countersign),
                now,
                check_role,
            )
            added += 1
    return added


# --- Documents -------------------------------------------------------------------------------


def _pdf(
    template: ConsentTemplate,
    patient: Patient,
    lines: list[str],
    signature_png: bytes | None,
    title_suffix: str = "",
) -> bytes:
    from fpdf import FPDF  # fpdf2 loads with the first PDF (docs/architecture.md, Hot paths)

    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    add_dejavu(pdf)
    pdf.set_margins(18, 18, 18)
    pdf.set_creator("ketacare")
    pdf.set_creation_date(datetime(2000, 1, 1))  # reproducible bytes; times are printed
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(0, 7, template.title + title_suffix, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    body_hash = hashlib.sha256(template.body.encode()).hexdigest()
    pdf.multi_cell(
        0,
        4,
        f"Template {template.key} version {template.version} (text SHA-256 {body_hash[:16]}…)",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(0, 5, template.body, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("DejaVu", "B", 10)
    pdf.multi_cell(0, 5, template.attestation, new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font("DejaVu", "", 10)
    pdf.multi_cell(
        0,
        5,
        f"Patient: {patient.display_name} (record {patient.id})",
        new_x="LMARGIN",
        new_y="NEXT",
    )
    if signature_png:
        pdf.image(io.BytesIO(signature_png), w=70)
    for line in lines:
        pdf.multi_cell(0, 5, line, new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _check_png(data: bytes) -> bytes:
    if not data.startswith(PNG_MAGIC):
        raise BadRequest("must be a PNG image of the drawn signature", "signature")
    if len(data) > MAX_SIGNATURE_BYTES:
        raise BadRequest(f"must be at most {MAX_SIGNATURE_BYTES} bytes", "signature")
    return data


def _store(db: Session, actor: Actor, doc: ConsentDocument) -> ConsentDocument:
    try:
        with db.begin_nested():
            db.add(doc)
            db.flush()
    except IntegrityError:
        raise Conflict("this document was already countersigned or revoked", "document") from None
    # The audit chain keeps the document's hash (resource id: the SHA-256).
    record(
        db,
        actor,
        "create",
        f"consent_document_{doc.kind}",
        doc.pdf_sha256,
        patient_id=doc.patient_id,
    )
    return doc


def sign(
    db: Session,
    actor: Actor,
    patient: Patient,
    template: ConsentTemplate,
    typed_name: str,
    attested: bool,
    signature_png: bytes,
    now: datetime,
    tz: str = "UTC",
    details: Sequence[str] = (),
) -> ConsentDocument:
    """The patient signs the newest version of ``template`` (drawn signature, typed name and
    the attestation) on the clinic's tablet, or remotely in the patient portal (signed in by
    an e-mailed one-time link; only their own record); the PDF and its SHA-256 are stored.
    ``details``: lines printed above the signature (the enrolment form's patient fields)."""
    remote = actor.user is not None and actor.user.role == Role.patient
    if remote:
        assert actor.user is not None
        if patient.user_id is None or patient.user_id != actor.user.id:
            raise Forbidden("a patient signs only their own consent")
    else:
        _require(actor, {Role.clinician, Role.nurse, Role.admin}, "staff")
    if template.clinic_id != patient.clinic_id:
        raise NotFound("no such consent template")
    newest = max(t.version for t in versions(db, template.clinic_id, template.key))
    if template.version != newest:
        raise BadRequest(
            f"version {template.version} is outdated; sign version {newest}", "template"
        )
    name = _text(typed_name, "typed_name", 200)
    if not attested:
        raise BadRequest("the patient must confirm the attestation", "attested")
    png = _check_png(signature_png)
    when = clock.format_local(now, tz, "%Y-%m-%d %H:%M") + f" {clock.tz_label(now, tz)}"
    pdf = _pdf(
        template,
        patient,
        [
            *details,
            f"Signed by the patient as “{name}” on {when}, remotely in the patient portal "
            f"(signed in as {actor.label} by an e-mailed one-time link)."
            if remote
            else f"Signed by the patient as “{name}” on {when}, on a clinic tablet "
            f"(witnessed by {actor.label}).",
        ],
        png,
    )
    doc = ConsentDocument(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        template_id=template.id,
        kind="signed",
        patient_typed_name=name,
        patient_signature_png=png,
        signer_name=name,
        signer_role="patient",
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        recorded_by=actor.label,
        signed_at=now,
    )
    return _store(db, actor, doc)


def get_document(db: Session, clinic_id: int, doc_id: int, kind: str = CONSENT) -> ConsentDocument:
    """A document of the clinic made from a template of ``kind`` (404 otherwise: the REMS
    enrolment form is countersigned, revoked and read through features/rems)."""
    row = db.get(ConsentDocument, doc_id)
    if row is None or row.clinic_id != clinic_id:
        raise NotFound("no such consent document")
    template = db.get(ConsentTemplate, row.template_id)
    if template is None or template.document_kind != kind:
        raise NotFound("no such consent document")
    return row


def _successor(db: Session, doc_id: int) -> ConsentDocument | None:
    return db.execute(
        select(ConsentDocument).where(ConsentDocument.supersedes_id == doc_id)
    ).scalar_one_or_none()


def countersign(
    db: Session,
    actor: Actor,
    doc: ConsentDocument,
    now: datetime,
    tz: str = "UTC",
    details: Sequence[str] = (),
) -> ConsentDocument:
    """A clinician (or a nurse as witness) countersigns a patient's signed consent where the
    template asks for it: a new document with both signatures supersedes the first. The REMS
    enrolment form is countersigned by the prescriber (a clinician) only."""
    template = db.get(ConsentTemplate, doc.template_id)
    assert template is not None
    if template.document_kind == REMS_ENROLMENT:
        _require(actor, set(COUNTERSIGNERS[REMS_ENROLMENT]), "the prescriber (a clinician)")
    else:
        _require(actor, set(COUNTERSIGNERS[CONSENT]), "a clinician or a nurse")
    if not template.countersign:
        raise BadRequest("this consent needs no countersignature", "document")
    if doc.kind != "signed" or _successor(db, doc.id) is not None:
        raise Conflict("only a signed, not yet countersigned or revoked document", "document")
    patient = db.get(Patient, doc.patient_id)
    assert patient is not None and actor.user is not None
    role = "clinician" if actor.user.role == Role.clinician else "witness"
    if template.document_kind == REMS_ENROLMENT:
        role = "prescriber"
    when = clock.format_local(now, tz, "%Y-%m-%d %H:%M") + f" {clock.tz_label(now, tz)}"
    signed_when = clock.format_local(doc.signed_at, tz, "%Y-%m-%d %H:%M")
    lines = [
        *details,
        f"Signed by the patient as “{doc.patient_typed_name}” on {signed_when} "
        f"(document SHA-256 {doc.pdf_sha256}).",
        f"Countersigned by {actor.label} ({role}) on {when}.",
    ]
    pdf = _pdf(template, patient, lines, doc.patient_signature_png, " (countersigned)")
    new = ConsentDocument(
        clinic_id=doc.clinic_id,
        patient_id=doc.patient_id,
        template_id=doc.template_id,
        kind="countersigned",
        supersedes_id=doc.id,
        patient_typed_name=doc.patient_typed_name,
        signer_name=actor.label,
        signer_role=role,
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        recorded_by=actor.label,
        signed_at=now,
    )
    return _store(db, actor, new)


def revoke(
    db: Session, actor: Actor, doc: ConsentDocument, reason: str, now: datetime, tz: str = "UTC"
) -> ConsentDocument:
    """The patient withdraws consent: a new ``revoked`` document (the signed one is kept)."""
    _require(actor, {Role.clinician, Role.nurse, Role.admin}, "staff")
    text = _text(reason, "reason", 500)
    if doc.kind == "revoked" or _successor(db, doc.id) is not None:
        raise Conflict("revoke the newest document of this consent", "document")
    template = db.get(ConsentTemplate, doc.template_id)
    patient = db.get(Patient, doc.patient_id)
    assert template is not None and patient is not None
    when = clock.format_local(now, tz, "%Y-%m-%d %H:%M") + f" {clock.tz_label(now, tz)}"
    lines = [
        f"REVOKED on {when}, recorded by {actor.label}: {text}",
        f"Revokes the document with SHA-256 {doc.pdf_sha256}.",
    ]
    pdf = _pdf(template, patient, lines, None, " (revoked)")
    new = ConsentDocument(
        clinic_id=doc.clinic_id,
        patient_id=doc.patient_id,
        template_id=doc.template_id,
        kind="revoked",
        supersedes_id=doc.id,
        patient_typed_name=doc.patient_typed_name,
        signer_name=actor.label,
        signer_role="staff",
        reason=text,
        pdf=pdf,
        pdf_sha256=hashlib.sha256(pdf).hexdigest(),
        recorded_by=actor.label,
        signed_at=now,
    )
    return _store(db, actor, new)


def read_document(db: Session, actor: Actor, doc: ConsentDocument) -> bytes:
    """The document's PDF (every read of a signed document is audited)."""
    record(db, actor, "read", "consent_document", doc.pdf_sha256, patient_id=doc.patient_id)
    return doc.pdf


def verify(db: Session, actor: Actor, doc: ConsentDocument) -> bool:
    """Whether the stored PDF still hashes to the recorded SHA-256 (audited)."""
    record(db, actor, "verify", "consent_document", doc.pdf_sha256, patient_id=doc.patient_id)
    return hashlib.sha256(doc.pdf).hexdigest() == doc.pdf_sha256


# --- Status ----------------------------------------------------------------------------------


def versions(db: Session, clinic_id: int, key: str) -> list[ConsentTemplate]:
    """Every version of template ``key``, oldest first."""
    return list(
        db.execute(
            select(ConsentTemplate)
            .where(ConsentTemplate.clinic_id == clinic_id, ConsentTemplate.key == key)
            .order_by(ConsentTemplate.version)
        ).scalars()
    )


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A patient's consent under one template key: the newest document and what it means."""

    template: ConsentTemplate  # the newest version
    document: ConsentDocument | None  # the newest document (any version), if any
    document_version: int | None
    state: str  # none, awaiting_countersignature, valid, revoked, reconsent
    #: Why the patient must re-consent: "" (an older template version) or the protocol change.
    why: str = ""


def patient_documents(
    db: Session, patient_id: int, kind: str = CONSENT
) -> list[tuple[ConsentDocument, ConsentTemplate]]:
    """Every document of ``kind`` of the patient with its template version, newest first."""
    return _documents_of(db, [patient_id], kind).get(patient_id, [])


def _documents_of(
    db: Session, patient_ids: list[int], kind: str = CONSENT
) -> dict[int, list[tuple[ConsentDocument, ConsentTemplate]]]:
    """The documents of ``kind`` of each patient with their template versions, newest first
    (one statement for all of them)."""
    out: dict[int, list[tuple[ConsentDocument, ConsentTemplate]]] = {}
    if not patient_ids:
        return out
    rows = db.execute(
        select(ConsentDocument, ConsentTemplate)
        .join(ConsentTemplate, ConsentTemplate.id == ConsentDocument.template_id)
        .where(ConsentDocument.patient_id.in_(patient_ids), ConsentTemplate.document_kind == kind)
        .order_by(ConsentDocument.id.desc())
    ).all()
    for d, t in rows:
        out.setdefault(d.patient_id, []).append((d, t))
    return out


def plan_facts(db: Session, patient_id: int) -> list[PlanFact]:
    """The patient's treatment plans as the re-consent rule sees them."""
    return _plan_facts_of(db, [patient_id]).get(patient_id, [])


def _plan_facts_of(db: Session, patient_ids: list[int]) -> dict[int, list[PlanFact]]:
    """Each patient's treatment plans as the re-consent rule sees them (one statement)."""
    out: dict[int, list[PlanFact]] = {}
    if not patient_ids:
        return out
    rows = db.execute(
        select(TreatmentPlan)
        .where(TreatmentPlan.patient_id.in_(patient_ids))
        .order_by(TreatmentPlan.id)
    ).scalars()
    for p in rows:
        out.setdefault(p.patient_id, []).append(
            PlanFact(
                p.protocol_id,
                p.protocol_version,
                p.protocol_title,
                p.created_at,
                p.status == PlanStatus.active,
                "esketamine" if p.drug == "esketamine" else "iv",
            )
        )
    return out


def states(db: Session, patient: Patient, protocol_check: bool = True) -> list[ConsentState]:
    """The patient's state under each of the clinic's templates. With ``protocol_check``
    (``KETACARE_CONSENT_RECONSENT_ON_PROTOCOL_CHANGE``), a valid consent given for another
    protocol than the active plan of a route it covers becomes ``reconsent``."""
    docs = patient_documents(db, patient.id)
    plans = plan_facts(db, patient.id) if protocol_check else []
    return _states_of(docs, plans, latest_templates(db, patient.clinic_id))


def _states_of(
    docs: list[tuple[ConsentDocument, ConsentTemplate]],
    plans: list[PlanFact],
    templates: list[ConsentTemplate],
) -> list[ConsentState]:
    """:func:`states` from the patient's documents, plans and the clinic's latest templates."""
    superseded = {d.supersedes_id for d, _ in docs if d.supersedes_id is not None}
    out = []
    for template in templates:
        heads = [(d, t) for d, t in docs if t.key == template.key and d.id not in superseded]
        if not heads:
            out.append(ConsentState(template, None, None, "none"))
            continue
        doc, version = heads[0]
        why = ""
        if doc.kind == "revoked":
            state = "revoked"
        elif version.version != template.version:
            state = "reconsent"
        elif version.countersign and doc.kind != "countersigned":
            state = "awaiting_countersignature"
        else:
            state = "valid"
        if state == "valid" and plans:
            routes = set(template.routes.split(","))
            covered = [p for p in plans if p.route in routes]
            change = protocol_change(covered, _first_signature(docs, doc).signed_at)
            if change is not None:
                state, why = "reconsent", change.text
        out.append(ConsentState(template, doc, version.version, state, why))
    return out


def _first_signature(
    docs: list[tuple[ConsentDocument, ConsentTemplate]], doc: ConsentDocument
) -> ConsentDocument:
    """The patient's own signature behind ``doc`` (a countersignature supersedes it)."""
    by_id = {d.id: d for d, _ in docs}
    while doc.supersedes_id is not None and doc.supersedes_id in by_id:
        doc = by_id[doc.supersedes_id]
    return doc


def reconsent_due(
    db: Session, clinic_id: int, protocol_check: bool = True
) -> list[tuple[int, str, str, int, int, str]]:
    """Patients who must re-consent: (patient id, name, template key, signed version, current
    version, why: "" for an older template version, else the protocol change).

    A fixed number of statements however many patients have consented (it ran three per
    patient)."""
    patients = list(
        db.execute(
            select(Patient)
            .join(ConsentDocument, ConsentDocument.patient_id == Patient.id)
            .where(Patient.clinic_id == clinic_id)
            .distinct()
            .order_by(Patient.id)
        ).scalars()
    )
    ids = [p.id for p in patients]
    docs = _documents_of(db, ids)
    plans = _plan_facts_of(db, ids) if protocol_check else {}
    templates = latest_templates(db, clinic_id)
    out = []
    for p in patients:
        for st in _states_of(docs.get(p.id, []), plans.get(p.id, []), templates):
            if st.state == "reconsent" and st.document_version is not None:
                out.append(
                    (
                        p.id,
                        p.display_name,
                        st.template.key,
                        st.document_version,
                        st.template.version,
                        st.why,
                    )
                )
    return out


DATA_URL = "data:image/png;base64,"


def signature_from_form(raw: str) -> bytes:
    """The PNG of a signature box's ``data:image/png;base64,...`` value (422 naming
    ``signature`` when it is missing or not base64)."""
    if not raw.startswith(DATA_URL):
        raise BadRequest("draw the signature in the box", "signature")
    try:
        return base64.b64decode(raw[len(DATA_URL) :], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("draw the signature in the box", "signature") from None


def reconsent_list(
    db: Session, actor: Actor, protocol_check: bool = True
) -> list[tuple[int, str, str, int, int, str]]:
    """:func:`reconsent_due` for the actor's clinic, audited with the patients it lists."""
    assert actor.clinic_id is not None
    rows = reconsent_due(db, actor.clinic_id, protocol_check)
    record(db, actor, "list", "consent_reconsent", "", patients=[r[0] for r in rows])
    return rows


@dataclass(frozen=True, slots=True)
class PatientConsents:
    """A patient's state under each template and every document (newest first)."""

    states: list[ConsentState]
    documents: list[tuple[ConsentDocument, ConsentTemplate]]


def patient_consents(
    db: Session, actor: Actor, patient: Patient, protocol_check: bool = True
) -> PatientConsents:
    """What the patient's consent page and API show (audited with the patient)."""
    record(db, actor, "list", "consent_document", "", patient_id=patient.id)
    return PatientConsents(states(db, patient, protocol_check), patient_documents(db, patient.id))


def document_patient(db: Session, doc: ConsentDocument) -> Patient:
    """The patient a document belongs to."""
    patient = db.get(Patient, doc.patient_id)
    assert patient is not None
    return patient


def session_reasons(
    db: Session, patient: Patient, route: str, protocol_check: bool = True
) -> list[Reason]:
    """Why a session of ``route`` may not start for want of consent (empty: it may)."""
    relevant = [
        s for s in states(db, patient, protocol_check) if route in s.template.routes.split(",")
    ]
    if any(s.state == "valid" for s in relevant):
        return []
    if not relevant:
        return [
            Reason(
                "consent.template",
                f"The clinic has no consent template for {route} sessions.",
                SOURCE,
            )
        ]
    texts = {
        "none": "has not been signed",
        "awaiting_countersignature": "awaits its countersignature",
        "revoked": "was revoked",
        "reconsent": "was signed in an older version: the patient must re-consent",
    }
    return [
        Reason("consent.protocol_changed", f"Consent “{s.template.title}”: {s.why}", SOURCE)
        if s.why
        else Reason("consent.valid", f"Consent “{s.template.title}” {texts[s.state]}.", SOURCE)
        for s in relevant
    ]


def check_session_open(db: Session, settings: Settings, s: TreatmentSession) -> None:
    """The call site of the sessions feature: refuse a session without a valid consent for its
    route (:class:`Refused`, the request rolls back) when ``KETACARE_CONSENT_REQUIRED``."""
    if not settings.consent_required:
        return
    patient = db.get(Patient, s.patient_id)
    assert patient is not None
    reasons = session_reasons(db, patient, s.route, settings.consent_reconsent_on_protocol_change)
    if reasons:
        raise ConsentRefused(reasons)


class ConsentRefused(Refused):
    """No valid consent for the session's route."""

    status_code = 409

    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__("consent", reasons)
        self.reason = " ".join(f"{r.text} [{r.rule_id}]" for r in reasons)


def session_open_check(
    db: Session,
    settings: Settings,
    s: TreatmentSession,
    now: datetime,  # noqa: ARG001
) -> None:
    """The registered ``session_open`` hook (features/registry.py): :func:`check_session_open`."""
    check_session_open(db, settings, s)
