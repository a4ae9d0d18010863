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
from ketacare.features._kit import clock
from ketacare.features._kit.errors import BadRequest, KetacareError
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.clinics.models import Clinic
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
    text = value.strip()
    if "\x00" in text:
        raise BadRequest("must not contain NUL characters", field)
    if len(text) > limit:
        raise BadRequest(f"must be at most {limit} characters", field)
    if required and not text:
        raise BadRequest("is required", field)
    return text


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


def withdraw(
    db: Session, actor: Actor, patient: Patient, note: str, now: datetime
) -> RemsEnrolment:
    """Record that the patient's enrolment ended (a new record; nothing is edited)."""
    current = queries.enrolment_of(db, patient.id)
    if current is None or current.kind != "enrolled":
        raise BadRequest("the patient is not enrolled", "enrolment")
    row = RemsEnrolment(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        kind="withdrawn",
        note=_text(note, "note", 500, required=True),
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


def gate_reasons(
    db: Session, clinic_id: int, patient_id: int, now: datetime, settings: Settings
) -> tuple[list[Reason], PrescriberAttestation | None]:
    """Every unmet REMS requirement for an esketamine session of the patient starting ``now``,
    and the prescriber attestation covering ``now``."""
    day = clock.local_date(now, _tz(db, clinic_id, settings)) or now.date()
    attestation = queries.attestation_at(db, clinic_id, now)
    reasons = rems_ops.session_gate(
        setting_facts(queries.setting_of(db, clinic_id)),
        enrolment_facts(queries.enrolment_of(db, patient_id)),
        attestation.prescriber_name if attestation else None,
        day,
        gate_config(settings),
    )
    return reasons, attestation


def booking_reasons(
    db: Session, clinic_id: int, patient_id: int, day: date, settings: Settings
) -> list[Reason]:
    """Every unmet REMS requirement for booking an esketamine session on the clinic's local
    ``day`` (the setting registry and the patient's enrolment); empty when the gate is off."""
    if not settings.rems_gate_enforced:
        return []
    return rems_ops.booking_gate(
        setting_facts(queries.setting_of(db, clinic_id)),
        enrolment_facts(queries.enrolment_of(db, patient_id)),
        day,
        gate_config(settings),
    )


def check_session_open(db: Session, settings: Settings, s: TreatmentSession, now: datetime) -> None:
    """The call site of the sessions feature: refuse an esketamine session the REMS does not
    allow (:class:`RemsRefused`, 409, the request rolls back), else record who is on site."""
    if s.route != "esketamine" or not settings.rems_gate_enforced:
        return
    reasons, attestation = gate_reasons(db, s.clinic_id, s.patient_id, now, settings)
    if reasons:
        raise RemsRefused(reasons)
    setting = queries.setting_of(db, s.clinic_id)
    db.add(
        RemsSessionCover(
            clinic_id=s.clinic_id,
            session_id=s.id,
            attestation_id=attestation.id if attestation else None,
            prescriber_name=attestation.prescriber_name if attestation else "",
            setting_name=setting.name if setting else "",
            recorded_at=now,
        )
    )
    db.flush()


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
