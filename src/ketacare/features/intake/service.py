"""Saving and reading intake versions (flush, never commit).

The use cases that take an ``actor`` (``record_intake``, ``open_intake``, ...) audit
themselves; the plain functions below them are for callers that audit elsewhere (tests, CLI).

Every save adds a version; nothing is overwritten. The document is validated by the pure
``ketacare.domain.intake.json_file`` parser and stored in its canonical JSON form, so what is read
back is exactly what the rules assess.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.intake.eligibility import EligibilityConfig
from ketacare.domain.intake.json_file import intake_from_dict, intake_to_dict
from ketacare.domain.intake.model import Intake
from ketacare.domain.intake.verdict import IntakeRulesConfig
from ketacare.features._kit.errors import BadRequest, KetacareError, NotFound
from ketacare.features.audit.service import record as audit
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import User
from ketacare.features.intake.models import IntakeRecord
from ketacare.features.patients.models import Patient
from ketacare.settings import Settings

MAX_COMMENT = 500


class Conflict(KetacareError):
    """Someone else saved a version at the same moment; nothing was stored."""

    status_code = 409


def parse_intake(data: object, today: date | None = None) -> Intake:
    """Validate an intake document; ``assessed_on`` defaults to ``today``.

    Raises
    ------
    BadRequest
        Naming the dotted field (e.g. ``medical.child_pugh``) and the reason.
    """
    if isinstance(data, Mapping) and data.get("assessed_on") is None:
        data = {**data, "assessed_on": (today or date.today()).isoformat()}
    try:
        intake = intake_from_dict(data)
    except InvalidAnswer as exc:
        raise BadRequest(exc.reason, exc.field) from None
    start = intake.episode.current_episode_start
    if start is not None and start > (today or date.today()):
        raise BadRequest("must not be in the future", "episode.current_episode_start")
    return intake


def rules_config(settings: Settings) -> IntakeRulesConfig:
    """The intake rules with the clinic's settings (``KETACARE_INTAKE_BP_MAX_AGE_DAYS``)."""
    return IntakeRulesConfig(
        eligibility=EligibilityConfig(bp_max_age_days=settings.intake_bp_max_age_days)
    )


def intake_of(record: IntakeRecord) -> Intake:
    """The domain intake of a stored version (stored documents are always valid)."""
    return intake_from_dict(record.document)


def save_intake(
    db: Session,
    user: User,
    patient: Patient,
    data: object,
    comment: str = "",
    today: date | None = None,
) -> IntakeRecord:
    """Validate ``data`` and store it as the patient's next intake version.

    Raises
    ------
    BadRequest
        Naming the field; nothing is stored.
    Conflict
        When another version was saved concurrently; nothing is stored.
    """
    intake = parse_intake(data, today)
    comment = comment.strip()
    if len(comment) > MAX_COMMENT:
        raise BadRequest(f"must be at most {MAX_COMMENT} characters", "comment")
    latest = db.execute(
        select(func.max(IntakeRecord.version)).where(IntakeRecord.patient_id == patient.id)
    ).scalar_one()
    record = IntakeRecord(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        version=(latest or 0) + 1,
        document=intake_to_dict(intake),
        assessed_on=intake.assessed_on,
        age_years=intake.demographics.age_years,
        weight_kg=intake.demographics.weight_kg,
        comment=comment,
        created_by_id=user.id,
        created_by_email=user.email,
    )
    try:
        with db.begin_nested():
            db.add(record)
            db.flush()
    except IntegrityError:
        raise Conflict(
            "another version was saved at the same time; reload and try again", "version"
        ) from None
    return record


def current_intake(db: Session, patient_id: int) -> IntakeRecord | None:
    """The newest version, or None when no intake was recorded."""
    return db.execute(
        select(IntakeRecord)
        .where(IntakeRecord.patient_id == patient_id)
        .order_by(IntakeRecord.version.desc())
        .limit(1)
    ).scalar_one_or_none()


def require_intake(db: Session, patient_id: int) -> IntakeRecord:
    """The newest version, or NotFound naming ``intake``."""
    record = current_intake(db, patient_id)
    if record is None:
        raise NotFound("no intake has been recorded for this patient", "intake")
    return record


def intake_versions(db: Session, patient_id: int) -> list[IntakeRecord]:
    """Every version, newest first."""
    stmt = (
        select(IntakeRecord)
        .where(IntakeRecord.patient_id == patient_id)
        .order_by(IntakeRecord.version.desc())
    )
    return list(db.execute(stmt).scalars())


def intake_version(db: Session, patient_id: int, version: int) -> IntakeRecord:
    """One version of the patient's intake, or NotFound."""
    record = db.execute(
        select(IntakeRecord).where(
            IntakeRecord.patient_id == patient_id, IntakeRecord.version == version
        )
    ).scalar_one_or_none()
    if record is None:
        raise NotFound(f"the intake has no version {version}", "version")
    return record


#: Called after a version is saved: ``(db, actor, settings, patient, record, now)`` (the
#: measurement record's PHQ-9 carry, handed over by the app as ``app.state.intake_saved``).
SavedHook = Callable[[Session, Actor, Settings, Patient, IntakeRecord, datetime], None]


def record_intake(
    db: Session,
    actor: Actor,
    patient: Patient,
    data: object,
    comment: str,
    now: datetime,
    settings: Settings,
    saved: SavedHook | None = None,
) -> IntakeRecord:
    """:func:`save_intake` by ``actor``, audited (create or update), then ``saved`` runs."""
    assert actor.user is not None
    rec = save_intake(db, actor.user, patient, data, comment)
    audit(db, actor, "create" if rec.version == 1 else "update", "intake", rec.id, patient.id)
    if saved is not None:
        saved(db, actor, settings, patient, rec, now)
    return rec


def open_intake(
    db: Session, actor: Actor, patient_id: int, version: int | None = None, required: bool = True
) -> IntakeRecord | None:
    """The current intake (or ``version``), audited as a read; None only when not
    ``required`` and no intake was recorded (NotFound otherwise)."""
    if version is not None:
        rec: IntakeRecord | None = intake_version(db, patient_id, version)
    elif required:
        rec = require_intake(db, patient_id)
    else:
        rec = current_intake(db, patient_id)
    if rec is not None:
        audit(db, actor, "read", "intake", rec.id, patient_id)
    return rec


def list_intake(db: Session, actor: Actor, patient_id: int) -> list[IntakeRecord]:
    """Every version, newest first, audited as a list."""
    records = intake_versions(db, patient_id)
    audit(db, actor, "list", "intake", "", patient_id)
    return records


def open_assessment(
    db: Session, actor: Actor, patient_id: int, required: bool = True
) -> IntakeRecord | None:
    """The intake the assessment is made from, audited as a read of the assessment."""
    rec = require_intake(db, patient_id) if required else current_intake(db, patient_id)
    if rec is not None:
        audit(db, actor, "read", "assessment", rec.id, patient_id)
    return rec
