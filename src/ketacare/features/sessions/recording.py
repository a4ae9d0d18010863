"""Vitals, CADSS/MOAA/S and adverse events during a session; serious events notify the
clinic's clinicians (flush, never commit)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import ScoreContext, score
from ketacare.domain.sessions.safety import SafetyConfig, Vitals, bp_implausible, vitals_flags
from ketacare.features._kit.errors import BadRequest
from ketacare.features.auth.models import Role, User
from ketacare.features.sessions.models import (
    AdverseEvent,
    ScaleScore,
    SessionNotification,
    TreatmentSession,
    VitalSign,
)
from ketacare.features.sessions.schemas import AdverseEventIn, ScaleIn, VitalsIn
from ketacare.features.sessions.service import check_time, require_open

# Built once: every stored reading is flagged against it.
_BASELINE = select(VitalSign).where(
    VitalSign.session_id == bindparam("session_id"), VitalSign.pre_dose.is_(True)
)


def baseline(db: Session, session_id: int) -> VitalSign | None:
    """The pre-dose reading of the checklist."""
    return db.execute(_BASELINE, {"session_id": session_id}).scalar_one_or_none()


def as_vitals(v: VitalSign) -> Vitals:
    """A stored reading as the domain sees it."""
    return Vitals(v.at, v.systolic, v.diastolic, v.heart_rate, v.spo2, v.resp_rate)


def add_vitals(
    db: Session, s: TreatmentSession, user: User, body: VitalsIn, now: datetime, cfg: SafetyConfig
) -> VitalSign:
    """Store a reading with its flags (against the pre-dose reading)."""
    require_open(s)
    values = (body.systolic, body.diastolic, body.heart_rate, body.spo2, body.resp_rate)
    if all(v is None for v in values):
        raise BadRequest("enter at least one value", "systolic")
    if (body.systolic is None) != (body.diastolic is None):
        raise BadRequest("enter systolic and diastolic together", "diastolic")
    implausible = bp_implausible(body.systolic, body.diastolic)
    if implausible is not None:
        raise BadRequest(implausible.text, "diastolic")
    at = check_time(body.at or now, now, "at")
    row = VitalSign(
        session_id=s.id,
        at=at,
        systolic=body.systolic,
        diastolic=body.diastolic,
        heart_rate=body.heart_rate,
        spo2=body.spo2,
        resp_rate=body.resp_rate,
        entered_by_id=user.id,
    )
    base = baseline(db, s.id)
    flags = vitals_flags(as_vitals(row), as_vitals(base) if base else None, cfg)
    row.flags = [f.rule_id for f in flags]
    db.add(row)
    db.flush()
    return row


def pre_dose_moaas(db: Session, session_id: int) -> int | None:
    """The latest pre-dose MOAA/S level."""
    return db.execute(
        select(ScaleScore.total)
        .where(
            ScaleScore.session_id == session_id,
            ScaleScore.instrument_id == "moaas",
            ScaleScore.timepoint == "pre_dose",
        )
        .order_by(ScaleScore.at.desc())
        .limit(1)
    ).scalar_one_or_none()


def add_scale(
    db: Session, s: TreatmentSession, user: User, body: ScaleIn, now: datetime
) -> tuple[ScaleScore, AdverseEvent | None]:
    """Score and store a CADSS or MOAA/S; MOAA/S 0 is also a serious adverse event."""
    require_open(s)
    at = check_time(body.at or now, now, "at")
    ctx = (
        ScoreContext(pre_dose_score=pre_dose_moaas(db, s.id))
        if body.instrument == "moaas"
        else None
    )
    try:
        result = score(body.instrument, dict(body.answers), None, ctx)
    except InvalidAnswer as exc:
        raise BadRequest(str(exc), "answers") from None
    assert result.total is not None
    row = ScaleScore(
        session_id=s.id,
        instrument_id=body.instrument,
        instrument_version=result.version,
        timepoint=body.timepoint,
        at=at,
        answers={str(k): v for k, v in body.answers.items()},
        total=result.total,
        flags=sorted(result.flags),
        entered_by_id=user.id,
    )
    db.add(row)
    event = None
    if body.instrument == "moaas" and result.total == 0:
        event = AdverseEvent(
            session_id=s.id,
            term="sedation",
            severity="severe",
            serious=True,
            action="Loss of consciousness (MOAA/S 0) recorded; respond per clinic protocol.",
            outcome="unknown",
            onset_at=at,
            origin="moaas0",
            entered_by_id=user.id,
        )
        db.add(event)
    db.flush()
    if event is not None:
        notify_clinicians(db, s, event)
    return row, event


def add_adverse_event(
    db: Session, s: TreatmentSession, user: User, body: AdverseEventIn, now: datetime
) -> AdverseEvent:
    """Store a coded adverse event; a serious one notifies the clinic's clinicians."""
    require_open(s)
    if body.term == "other" and not body.other_text.strip():
        raise BadRequest("describe the event when the term is other", "other_text")
    event = AdverseEvent(
        session_id=s.id,
        term=body.term,
        other_text=body.other_text.strip(),
        severity=body.severity,
        serious=body.serious,
        action=body.action.strip(),
        outcome=body.outcome,
        onset_at=check_time(body.onset_at or now, now, "onset_at"),
        entered_by_id=user.id,
    )
    db.add(event)
    db.flush()
    if event.serious:
        notify_clinicians(db, s, event)
    return event


def notify_clinicians(db: Session, s: TreatmentSession, event: AdverseEvent) -> int:
    """One notification row per active clinician of the clinic; returns how many."""
    ids = db.execute(
        select(User.id).where(
            User.clinic_id == s.clinic_id, User.role == Role.clinician, User.is_active.is_(True)
        )
    ).scalars()
    term = event.other_text or event.term.replace("_", " ")
    text = f"Serious adverse event in session {s.id}: {term} ({event.severity})."
    n = 0
    for uid in ids:
        db.add(
            SessionNotification(
                clinic_id=s.clinic_id,
                user_id=uid,
                session_id=s.id,
                patient_id=s.patient_id,
                kind="serious_adverse_event",
                text=text,
            )
        )
        n += 1
    db.flush()
    return n


def notifications_for(db: Session, user: User, limit: int = 50) -> list[SessionNotification]:
    """The user's unread notifications, newest first."""
    return list(
        db.execute(
            select(SessionNotification)
            .where(SessionNotification.user_id == user.id, SessionNotification.read_at.is_(None))
            .order_by(SessionNotification.created_at.desc(), SessionNotification.id.desc())
            .limit(limit)
        ).scalars()
    )
