"""REMS operations use cases: the setting registry, enrolment, prescriber attestations, the
esketamine session gate, the PMF document and its submission, and the per-site dashboard.

Services take the ``actor`` and ``now``, audit themselves and ``flush()``; the caller commits.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.domain.compliance import rems_ops
from ketacare.domain.dates import out_of_range
from ketacare.domain.sessions.safety import Reason
from ketacare.features import registry
from ketacare.features._kit import clock
from ketacare.features._kit.errors import BadRequest, KetacareError, NotFound
from ketacare.features._kit.fields import text_field
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.clinics.models import Clinic
from ketacare.features.consent import service as consent
from ketacare.features.consent.models import ConsentDocument, ConsentTemplate
from ketacare.features.patients.models import Patient
from ketacare.features.rems import queries
from ketacare.features.rems.fax import FaxSender
from ketacare.features.rems.models import (
    PmfSubmission,
    PrescriberAttestation,
    RemsEnrolment,
    RemsSessionCover,
    RemsSetting,
)
from ketacare.features.rems.pmf_pdf import render_pmf
from ketacare.features.sessions import closing, rems_forms
from ketacare.features.sessions.config import safety_config
from ketacare.features.sessions.models import SessionStatus, TreatmentSession
from ketacare.features.sessions.state import build
from ketacare.settings import Settings

MAX_ATTESTATION = timedelta(hours=24)


class RemsRefused(closing.Refused):
    """The REMS gate refuses an esketamine session: every unmet requirement in ``reasons``."""

    status_code = 409

    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__("rems", reasons)
        self.reason = "The SPRAVATO REMS requirements are not met: " + " ".join(
            f"{r.text} [{r.rule_id}]" for r in reasons
        )


class Conflict(KetacareError):
    """The record exists already (a second submission of one form)."""

    status_code = 409


def _tz(db: Session, clinic_id: int, settings: Settings) -> str:
    return clock.clinic_tz(db.get(Clinic, clinic_id), settings.timezone).key


def _text(value: str, field: str, limit: int = 200, required: bool = False) -> str:
    return text_field(value, field, limit, required)


def _day(value: date | None, field: str) -> date | None:
    if value is not None and (problem := out_of_range(value)):
        raise BadRequest(problem, field)
    return value


# --- Setting registry ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SettingInput:
    """The registry fields of the clinic's healthcare setting."""

    name: str = ""
    address: str = ""
    setting_type: str = "outpatient"
    certified: bool = False
    certified_on: date | None = None
    certification_id: str = ""
    authorised_representative: str = ""
    acquisition_route: str = ""
    pulse_oximeter: bool = False


def save_setting(
    db: Session, actor: Actor, clinic_id: int, data: SettingInput, now: datetime
) -> RemsSetting:
    """Create or update the clinic's REMS setting record (audited)."""
    if data.setting_type not in rems_ops.SETTING_TYPES:
        raise BadRequest("must be outpatient or inpatient", "setting_type")
    if data.acquisition_route not in ("", *rems_ops.ACQUISITION_ROUTES):
        raise BadRequest("must be pharmacy or distributor", "acquisition_route")
    if data.certified and data.certified_on is None:
        raise BadRequest("is required for a certified setting", "certified_on")
    row = queries.setting_of(db, clinic_id)
    if row is None:
        row = RemsSetting(clinic_id=clinic_id)
        db.add(row)
    row.name = _text(data.name, "name")
    row.address = _text(data.address, "address", 500)
    row.setting_type = data.setting_type
    row.certified = data.certified
    row.certified_on = _day(data.certified_on, "certified_on")
    row.certification_id = _text(data.certification_id, "certification_id", 64)
    row.authorised_representative = _text(
        data.authorised_representative, "authorised_representative"
    )
    row.acquisition_route = data.acquisition_route
    row.pulse_oximeter = data.pulse_oximeter
    row.updated_at, row.updated_by = now, actor.label
    db.flush()
    record(db, actor, "update", "rems_setting", row.id, clinic_id=clinic_id)
    return row


def setting_facts(row: RemsSetting | None) -> rems_ops.SettingFacts | None:
    """The registry row as the domain sees it."""
    if row is None:
        return None
    return rems_ops.SettingFacts(
        row.certified,
        row.certified_on,
        row.authorised_representative,
        row.acquisition_route,
        row.pulse_oximeter,
        row.setting_type,
    )


# --- Enrolment -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnrolmentInput:
    """A Patient Enrollment Form as recorded."""

    enrolled_on: date
    patient_signed: bool
    prescriber_signed: bool
    prescriber_name: str
    rems_patient_id: str = ""
    note: str = ""


def enrol(
    db: Session, actor: Actor, patient: Patient, data: EnrolmentInput, now: datetime
) -> RemsEnrolment:
    """Record the patient's enrolment (a new record; earlier ones are kept)."""
    _day(data.enrolled_on, "enrolled_on")
    if not data.patient_signed:
        raise BadRequest("the enrolment form must be signed by the patient", "patient_signed")
    if not data.prescriber_signed:
        raise BadRequest("the enrolment form must be signed by the prescriber", "prescriber_signed")
    row = RemsEnrolment(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        kind="enrolled",
        enrolled_on=data.enrolled_on,
        patient_signed=True,
        prescriber_signed=True,
        prescriber_name=_text(data.prescriber_name, "prescriber_name", required=True),
        rems_patient_id=_text(data.rems_patient_id, "rems_patient_id", 64),
        note=_text(data.note, "note", 500),
        recorded_by=actor.label,
        recorded_at=now,
    )
    db.add(row)
    db.flush()
    record(db, actor, "create", "rems_enrolment", row.id, patient_id=patient.id)
    return row


def enrol_by_hand(
    db: Session,
    actor: Actor,
    patient: Patient,
    data: EnrolmentInput,
    now: datetime,
    settings: Settings,
) -> RemsEnrolment:
    """Record an enrolment whose form was signed on paper and is kept elsewhere: only with
    ``KETACARE_REMS_ENROLMENT_BY_HAND``; otherwise the patient signs the enrolment form and the
    prescriber countersigns (422 naming ``document``)."""
    if not settings.rems_enrolment_by_hand:
        raise BadRequest(
            "the patient signs the Patient Enrollment Form and the prescriber countersigns it "
            "on the patient's REMS page",
            "document",
        )
    return enrol(db, actor, patient, data, now)


def withdraw(
    db: Session, actor: Actor, patient: Patient, note: str, now: datetime, tz: str = "UTC"
) -> RemsEnrolment:
    """Record that the patient's enrolment ended (a new record; nothing is edited)."""
    current = queries.enrolment_of(db, patient.id)
    if current is None or current.kind != "enrolled":
        raise BadRequest("the patient is not enrolled", "enrolment")
    text = _text(note, "note", 500, required=True)
    form = enrolment_form(db, patient.id)
    if current.document_id is not None and form.head is not None and form.state != "revoked":
        # The signed form is never edited: its revocation is a new document.
        consent.revoke(db, actor, form.head, text, now, tz)
    row = RemsEnrolment(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        kind="withdrawn",
        note=text,
        recorded_by=actor.label,
        recorded_at=now,
    )
    db.add(row)
    db.flush()
    record(db, actor, "create", "rems_enrolment", row.id, patient_id=patient.id)
    return row


def enrolment_facts(row: RemsEnrolment | None) -> rems_ops.EnrolmentFacts | None:
    """The newest enrolment record as the domain sees it."""
    if row is None:
        return None
    return rems_ops.EnrolmentFacts(
        row.enrolled_on, row.patient_signed, row.prescriber_signed, row.kind == "withdrawn"
    )


def patient_enrolment_facts(
    db: Session, patient_id: int, tz: str = "UTC"
) -> rems_ops.EnrolmentFacts | None:
    """What the gates read: the newest enrolment record, or, while the patient is not enrolled,
    an enrolment form the patient signed that awaits the prescriber's countersignature."""
    row = queries.enrolment_of(db, patient_id)
    if row is not None and row.kind == "enrolled":
        return enrolment_facts(row)
    form = enrolment_form(db, patient_id)
    if form.state == "awaiting_prescriber" and form.head is not None:
        return rems_ops.EnrolmentFacts(
            clock.local_date(form.head.signed_at, tz), True, False, False
        )
    return enrolment_facts(row)


# --- The Patient Enrollment Form as a signed document (issue 19.2) -----------------------------

#: The consent template key of the clinic's Patient Enrollment Form (document kind
#: ``rems-enrolment``: signed by the patient, countersigned by the prescriber).
ENROLMENT_KEY = "rems-enrolment"
ENROLMENT_TITLE = "SPRAVATO REMS Patient Enrollment Form"
#: The form's content by field category, in the clinic's words (not the manufacturer's form;
#: docs/rems.md). The clinic may edit the text as a new template version.
ENROLMENT_BODY = (
    "Patient information: name, date of birth, sex, address, telephone and e-mail as printed "
    "below.\n"
    "Healthcare setting: the REMS-certified setting where the patient is treated.\n"
    "Patient acknowledgements: I have been counselled about SPRAVATO and its risks, including "
    "sedation, dissociation, respiratory depression, and abuse and misuse. I understand that "
    "SPRAVATO is given only in a REMS-certified healthcare setting, where I self-administer it "
    "under the observation of a healthcare provider, that I will be monitored for at least two "
    "hours after each dose until I am ready to leave, and that I must not drive or operate "
    "machinery until the next day after a restful sleep. I agree that my information is shared "
    "with the SPRAVATO REMS and that a Patient Monitoring Form is submitted after each "
    "treatment.\n"
    "Prescriber: the prescriber confirms that the patient was counselled, that the patient is "
    "enrolled before the first treatment, and countersigns below.\n"
    "Edit this text to your clinic's form before use."
)
ENROLMENT_ATTESTATION = (
    "I have read this enrolment form, my questions were answered, and I agree to enrol in the "
    "SPRAVATO REMS."
)


def enrolment_template(db: Session, actor: Actor, clinic_id: int, now: datetime) -> ConsentTemplate:
    """The newest version of the clinic's enrolment form template (version 1 is added the first
    time it is needed; the clinic edits it as a new version)."""
    rows = consent.latest_templates(db, clinic_id, consent.REMS_ENROLMENT)
    if rows:
        return rows[0]
    data = consent.TemplateInput(
        ENROLMENT_KEY,
        ENROLMENT_TITLE,
        ENROLMENT_BODY,
        ENROLMENT_ATTESTATION,
        "",
        countersign=True,
        document_kind=consent.REMS_ENROLMENT,
    )
    return consent.new_version(db, actor, clinic_id, data, now, check_role=False)


@dataclass(frozen=True, slots=True)
class EnrolmentForm:
    """The patient's enrolment form: the newest document of the chain and what it means
    (``none``, ``awaiting_prescriber``, ``countersigned``, ``revoked``) and every document."""

    state: str
    head: ConsentDocument | None
    documents: list[tuple[ConsentDocument, ConsentTemplate]]


def enrolment_form(db: Session, patient_id: int) -> EnrolmentForm:
    """The patient's enrolment form documents (the caller audits the read)."""
    docs = consent.patient_documents(db, patient_id, consent.REMS_ENROLMENT)
    superseded = {d.supersedes_id for d, _ in docs if d.supersedes_id is not None}
    heads = [d for d, _ in docs if d.id not in superseded]
    if not heads:
        return EnrolmentForm("none", None, docs)
    head = heads[0]
    state = {"signed": "awaiting_prescriber", "countersigned": "countersigned"}.get(
        head.kind, "revoked"
    )
    return EnrolmentForm(state, head, docs)


def _form_details(db: Session, patient: Patient) -> list[str]:
    """The patient and setting fields printed on the signed form."""
    setting = queries.setting_of(db, patient.clinic_id)
    born = patient.birth_date.isoformat() if patient.birth_date else "not recorded"
    return [
        f"Patient: {patient.display_name}; date of birth {born}; sex {patient.sex.value}; "
        f"telephone {patient.phone or 'not recorded'}; e-mail {patient.email or 'not recorded'}.",
        "Healthcare setting: "
        + (
            f"{setting.name}, {setting.address} (REMS certification {setting.certification_id})"
            if setting is not None and setting.name
            else "not registered"
        )
        + ".",
    ]


def sign_enrolment(
    db: Session,
    actor: Actor,
    patient: Patient,
    typed_name: str,
    attested: bool,
    signature_png: bytes,
    now: datetime,
    tz: str = "UTC",
) -> ConsentDocument:
    """The patient signs the enrolment form (tablet in the clinic, or the portal): a signed
    document awaiting the prescriber's countersignature; the patient is not enrolled yet."""
    current = queries.enrolment_of(db, patient.id)
    if current is not None and current.kind == "enrolled":
        raise Conflict("the patient is enrolled already", "enrolment")
    if enrolment_form(db, patient.id).state == "awaiting_prescriber":
        raise Conflict("the signed form awaits the prescriber's countersignature", "enrolment")
    template = enrolment_template(db, actor, patient.clinic_id, now)
    details = _form_details(db, patient)
    return consent.sign(
        db, actor, patient, template, typed_name, attested, signature_png, now, tz, details
    )


def countersign_enrolment(
    db: Session, actor: Actor, patient: Patient, doc_id: int, now: datetime, tz: str = "UTC"
) -> RemsEnrolment:
    """The prescriber countersigns the patient's signed enrolment form; only now is the patient
    enrolled, on the clinic's date of the countersignature (audited)."""
    doc = consent.get_document(db, patient.clinic_id, doc_id, consent.REMS_ENROLMENT)
    if doc.patient_id != patient.id:
        raise BadRequest("the document is another patient's", "document")
    signed = consent.countersign(db, actor, doc, now, tz, _form_details(db, patient))
    row = RemsEnrolment(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        kind="enrolled",
        enrolled_on=clock.local_date(now, tz) or now.date(),
        patient_signed=True,
        prescriber_signed=True,
        prescriber_name=actor.label,
        document_id=signed.id,
        recorded_by=actor.label,
        recorded_at=now,
    )
    db.add(row)
    db.flush()
    record(db, actor, "create", "rems_enrolment", row.id, patient_id=patient.id)
    return row


def enrolment_document(db: Session, patient: Patient, doc_id: int) -> ConsentDocument:
    """One of the patient's enrolment form documents (404 otherwise; no audit, see
    :func:`consent.read_document` and :func:`consent.verify`)."""
    doc = consent.get_document(db, patient.clinic_id, doc_id, consent.REMS_ENROLMENT)
    if doc.patient_id != patient.id:
        raise NotFound("no such enrolment document")
    return doc


# --- Prescriber on site ----------------------------------------------------------------------


def attest_prescriber(
    db: Session,
    actor: Actor,
    clinic_id: int,
    prescriber_name: str,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
) -> PrescriberAttestation:
    """Record that ``prescriber_name`` is on site from ``starts_at`` to ``ends_at`` (at most 24
    hours; the roster of the scheduling feature may replace this later)."""
    name = _text(prescriber_name, "prescriber_name", required=True)
    for value, field in ((starts_at, "starts_at"), (ends_at, "ends_at")):
        if problem := out_of_range(value):
            raise BadRequest(problem, field)
    if ends_at <= starts_at:
        raise BadRequest("must be after the start", "ends_at")
    if ends_at - starts_at > MAX_ATTESTATION:
        raise BadRequest("an attestation covers at most 24 hours", "ends_at")
    if ends_at <= now:
        raise BadRequest("must be in the future", "ends_at")
    row = PrescriberAttestation(
        clinic_id=clinic_id,
        prescriber_name=name,
        starts_at=starts_at,
        ends_at=ends_at,
        attested_by=actor.label,
        created_at=now,
    )
    db.add(row)
    db.flush()
    record(db, actor, "create", "rems_prescriber_attestation", row.id, clinic_id=clinic_id)
    return row


# --- The gate --------------------------------------------------------------------------------


def gate_config(settings: Settings) -> rems_ops.GateConfig:
    """The clinic's gate configuration from the settings."""
    return rems_ops.GateConfig(require_prescriber=settings.rems_require_prescriber)


@dataclass(frozen=True, slots=True)
class OnSite:
    """Who is on site as the prescriber: from an attestation (its id) or the roster (None)."""

    name: str
    attestation_id: int | None


def prescriber_cover(
    db: Session, clinic_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str]]:
    """Every interval a prescriber was on site between ``start`` and ``end``: the clinic's
    attestations and the roster's prescriber shifts (``prescriber_cover`` registry hooks)."""
    cover = [
        (a.starts_at, a.ends_at, a.prescriber_name)
        for a in queries.attestations_between(db, clinic_id, start, end)
    ]
    for hook in registry.session_hooks("prescriber_cover"):
        cover += hook(db, clinic_id, start, end)
    return cover


def on_site(db: Session, clinic_id: int, at: datetime) -> OnSite | None:
    """The prescriber on site at the instant ``at``: the newest attestation covering it, else a
    prescriber rostered then (issue 19.3), else None."""
    attestation = queries.attestation_at(db, clinic_id, at)
    if attestation is not None:
        return OnSite(attestation.prescriber_name, attestation.id)
    for hook in registry.session_hooks("prescriber_cover"):
        for _start, _end, name in hook(db, clinic_id, at, at + timedelta(seconds=1)):
            return OnSite(name, None)
    return None


def gate_reasons(
    db: Session, clinic_id: int, patient_id: int, now: datetime, settings: Settings
) -> tuple[list[Reason], OnSite | None]:
    """Every unmet REMS requirement for an esketamine session of the patient starting ``now``,
    and the prescriber on site now (attested or rostered)."""
    day = clock.local_date(now, _tz(db, clinic_id, settings)) or now.date()
    present = on_site(db, clinic_id, now)
    reasons = rems_ops.session_gate(
        setting_facts(queries.setting_of(db, clinic_id)),
        patient_enrolment_facts(db, patient_id, _tz(db, clinic_id, settings)),
        present.name if present else None,
        day,
        gate_config(settings),
    )
    return reasons, present


def booking_reasons(
    db: Session, clinic_id: int, patient_id: int, day: date, settings: Settings
) -> list[Reason]:
    """Every unmet REMS requirement for booking an esketamine session on the clinic's local
    ``day`` (the setting registry and the patient's enrolment); empty when the gate is off."""
    if not settings.rems_gate_enforced:
        return []
    return rems_ops.booking_gate(
        setting_facts(queries.setting_of(db, clinic_id)),
        patient_enrolment_facts(db, patient_id, _tz(db, clinic_id, settings)),
        day,
        gate_config(settings),
    )


def check_session_open(db: Session, settings: Settings, s: TreatmentSession, now: datetime) -> None:
    """The call site of the sessions feature: refuse an esketamine session the REMS does not
    allow (:class:`RemsRefused`, 409, the request rolls back), else record who is on site."""
    if s.route != "esketamine" or not settings.rems_gate_enforced:
        return
    reasons, present = gate_reasons(db, s.clinic_id, s.patient_id, now, settings)
    if reasons:
        raise RemsRefused(reasons)
    setting = queries.setting_of(db, s.clinic_id)
    db.add(
        RemsSessionCover(
            clinic_id=s.clinic_id,
            session_id=s.id,
            attestation_id=present.attestation_id if present else None,
            prescriber_name=present.name if present else "",
            setting_name=setting.name if setting else "",
            recorded_at=now,
        )
    )
    db.flush()


def check_session_sign(
    db: Session, settings: Settings, s: TreatmentSession
) -> tuple[str, list[Reason]]:
    """The registered ``session_sign`` hook: an esketamine session is signed only when a
    prescriber was on site (attested or rostered) from the first device to the discharge
    (issue 19.3; the REMS requires it during administration and monitoring)."""
    if (
        s.route != "esketamine"
        or not settings.rems_gate_enforced
        or not settings.rems_require_prescriber
        or s.discharged_at is None
    ):
        return "prescriber", []
    start = s.dose_start or s.created_at
    cover = [(a, b) for a, b, _ in prescriber_cover(db, s.clinic_id, start, s.discharged_at)]
    zone = clock.zone(_tz(db, s.clinic_id, settings))
    return "prescriber", rems_ops.monitoring_reasons(cover, start, s.discharged_at, zone)


# --- The PMF document ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PmfDocument:
    """A session's PMF: the revision chosen by the session date, the values and the PDF."""

    revision: rems_ops.PmfRevision
    values: dict[str, Any]
    missing: list[Reason]
    pdf: bytes

    @property
    def sha256(self) -> str:
        """The PDF's SHA-256 (hex)."""
        return hashlib.sha256(self.pdf).hexdigest()


def _session_day(db: Session, s: TreatmentSession, settings: Settings) -> date:
    at = s.dose_start or s.created_at
    return clock.local_date(at, _tz(db, s.clinic_id, settings)) or at.date()


def pmf_document(
    db: Session, s: TreatmentSession, settings: Settings, now: datetime
) -> PmfDocument:
    """The session's PMF in the revision of its date (the caller audits the disclosure)."""
    if s.route != "esketamine":
        raise BadRequest("only esketamine sessions have a REMS form", "route")
    cfg = safety_config(settings)
    st = build(db, s, settings, cfg, now)
    form = closing.rems_form(db, s)
    vals = rems_forms.values(db, st, form, settings.timezone, cfg.esk_recheck_window_min)
    cover = queries.cover_of(db, s.id)
    vals["prescriber_on_site"] = cover.prescriber_name if cover else ""
    setting = queries.setting_of(db, s.clinic_id)
    if setting is not None and setting.name:
        vals["setting_name"] = setting.name  # the registered setting's name
    if setting is not None and setting.address and not vals.get("setting_address"):
        vals["setting_address"] = setting.address
    revision = rems_ops.pmf_revision_for(_session_day(db, s, settings))
    missing = [
        r for r in rems_forms.missing(vals) if r.rule_id[5:] in {f.id for f in revision.fields}
    ]
    pdf = render_pmf(revision, vals, s.id, settings.rems_deadline_days)
    return PmfDocument(revision, vals, missing, pdf)


def read_pmf(
    db: Session, actor: Actor, s: TreatmentSession, settings: Settings, now: datetime
) -> PmfDocument:
    """The PMF of the session, audited as an export of the patient's data."""
    doc = pmf_document(db, s, settings, now)
    record(db, actor, "export", "rems_pmf", s.id, patient_id=s.patient_id)
    return doc


def submit_pmf(
    db: Session,
    actor: Actor,
    s: TreatmentSession,
    settings: Settings,
    now: datetime,
    channel: str,
    confirmation: str = "",
    fax: FaxSender | None = None,
) -> PmfSubmission:
    """Record the signed session's PMF as submitted (portal: with the portal's confirmation
    number; fax: sent through ``fax``, which returns the confirmation). The submitted PDF and
    its SHA-256 are kept; a second submission of one form is a 409."""
    if channel not in ("portal", "fax"):
        raise BadRequest("must be portal or fax", "channel")
    if s.status != SessionStatus.signed:
        raise BadRequest("sign the session before submitting its form", "status")
    if queries.submission_of(db, s.id) is not None:
        raise Conflict("this session's form is already submitted", "session")
    doc = pmf_document(db, s, settings, now)
    if doc.missing:
        raise closing.Refused("pmf", doc.missing)
    if channel == "portal":
        confirmation = _text(confirmation, "confirmation", 100, required=True)
    else:
        if fax is None:
            raise BadRequest("no fax adapter is configured (KETACARE_REMS_FAX_DIR)", "channel")
        confirmation = fax.send(settings.rems_fax_number, doc.pdf, f"pmf-session-{s.id}")
    row = PmfSubmission(
        clinic_id=s.clinic_id,
        session_id=s.id,
        revision=doc.revision.id,
        channel=channel,
        confirmation=confirmation,
        pdf_sha256=doc.sha256,
        pdf=doc.pdf,
        submitted_by=actor.label,
        submitted_at=now,
    )
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        raise Conflict("this session's form is already submitted", "session") from None
    form = closing.rems_form(db, s)
    if form is not None and form.submitted_at is None:
        form.submitted_at, form.submitted_by_id = now, actor.user_id
        db.flush()
    # The audit chain keeps the submitted PDF's hash (resource id: the SHA-256).
    record(db, actor, "create", "rems_pmf_submission", doc.sha256, patient_id=s.patient_id)
    return row


def verify_submission(row: PmfSubmission) -> bool:
    """Whether the stored PDF still matches its recorded SHA-256."""
    return hashlib.sha256(row.pdf).hexdigest() == row.pdf_sha256


# --- Dashboard -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DashboardRow:
    """One PMF on the dashboard."""

    session_id: int
    patient_id: int
    patient_name: str
    treatment_date: date
    deadline: date
    status: str
    session_signed: bool
    confirmation: str


@dataclass(frozen=True, slots=True)
class Dashboard:
    """Forms due, overdue and submitted at the clinic's setting, as of the local ``today``."""

    setting_name: str
    today: date
    rows: list[DashboardRow]
    inpatient: bool = False  # inpatient settings submit no PMF (adverse events only)

    def count(self, status: str) -> int:
        """How many forms have ``status``."""
        return sum(1 for r in self.rows if r.status == status)


def dashboard(
    db: Session, actor: Actor, clinic_id: int, settings: Settings, now: datetime
) -> Dashboard:
    """The PMF dashboard of the clinic (audited with every patient it lists)."""
    tz = _tz(db, clinic_id, settings)
    today = clock.local_date(now, tz) or now.date()
    days = settings.rems_deadline_days
    setting = queries.setting_of(db, clinic_id)
    if setting is not None and setting.setting_type == "inpatient":
        record(db, actor, "list", "rems_pmf_dashboard", "", clinic_id=clinic_id)
        return Dashboard(setting.name, today, [], inpatient=True)
    rows = []
    for _form, s, p, sub in queries.dosed_forms(db, clinic_id):
        day = clock.local_date(s.dose_start, tz) or today
        rows.append(
            DashboardRow(
                s.id,
                p.id,
                p.display_name,
                day,
                rems_ops.pmf_deadline(day, days),
                rems_ops.pmf_status(day, sub is not None, today, days),
                s.status == SessionStatus.signed,
                sub.confirmation if sub else "",
            )
        )
    rows.sort(key=lambda r: ({"overdue": 0, "due": 1}.get(r.status, 2), r.deadline))
    record(
        db, actor, "list", "rems_pmf_dashboard", "", patients=sorted({r.patient_id for r in rows})
    )
    return Dashboard(setting.name if setting else "", today, rows)


def audit_submission_read(db: Session, actor: Actor, row: PmfSubmission, patient_id: int) -> None:
    """Audit a read of a submitted (signed) document."""
    record(db, actor, "read", "rems_pmf_submission", row.pdf_sha256, patient_id=patient_id)
