"""Creating a session and the steps before the dose (flush, never commit).

Writes on a signed session raise :class:`SessionLocked` (409): corrections are amendments.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.domain.sessions.safety import PreDose, PreDoseResult, bp_implausible
from ketacare.features._kit import clock
from ketacare.features._kit.errors import BadRequest, Forbidden, KetacareError
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role, User
from ketacare.features.intake.models import PlannedSession, TreatmentPlan
from ketacare.features.intake.plans import current_plan
from ketacare.features.patients.models import Patient, Sex
from ketacare.features.sessions import queries
from ketacare.features.sessions.models import SessionStatus, TreatmentSession, VitalSign
from ketacare.features.sessions.schemas import ChecklistIn, DecisionIn, DoseIn, SessionCreate
from ketacare.settings import Settings

FUTURE_SLACK = timedelta(minutes=5)
DEVICE_INTERVAL = timedelta(minutes=5)  # label: 5-minute rest between devices


class SessionLocked(KetacareError):
    """The session is signed; change it with an amendment."""

    status_code = 409

    def __init__(self) -> None:
        super().__init__("the session is signed and read-only; record an amendment", "session")


class SessionConflict(KetacareError):
    """Another session of the patient is open, or the planned session is already charted."""

    status_code = 409


def require_open(s: TreatmentSession) -> None:
    """Refuse writes to a signed session."""
    if s.status == SessionStatus.signed:
        raise SessionLocked()


def check_time(value: datetime, now: datetime, field: str) -> datetime:
    """A time not more than 5 minutes in the future."""
    if value > now + FUTURE_SLACK:
        raise BadRequest("must not be in the future", field)
    return value


def _route_for(plan: TreatmentPlan, wanted: str | None) -> str:
    default = "esketamine" if plan.drug == "esketamine" else "iv"
    route = wanted or default
    allowed = ("esketamine",) if plan.drug == "esketamine" else ("iv", "im")
    if route not in allowed:
        raise BadRequest(f"must be {' or '.join(allowed)} for this plan", "route")
    return route


def _open_session(db: Session, patient_id: int) -> TreatmentSession | None:
    return db.execute(
        select(TreatmentSession)
        .where(
            TreatmentSession.patient_id == patient_id,
            TreatmentSession.status == SessionStatus.open,
        )
        .order_by(TreatmentSession.id)
        .limit(1)
    ).scalar_one_or_none()


def _choose_planned(
    db: Session, plan: TreatmentPlan, wanted: int | None, today: date, window_days: int
) -> tuple[PlannedSession, str]:
    """The planned session to chart and how it was chosen (``chosen`` or ``date``)."""
    charted = select(TreatmentSession.planned_session_id).where(TreatmentSession.plan_id == plan.id)
    stmt = select(PlannedSession).where(PlannedSession.plan_id == plan.id)
    if wanted is not None:
        planned = db.execute(stmt.where(PlannedSession.id == wanted)).scalar_one_or_none()
        if planned is None:
            raise BadRequest("is not a session of the active plan", "planned_session_id")
        if db.execute(charted.where(TreatmentSession.planned_session_id == planned.id)).first():
            raise SessionConflict(
                f"planned session #{planned.number} ({planned.day}) is already charted",
                "planned_session_id",
            )
        return planned, "chosen"
    rows = list(
        db.execute(
            stmt.where(PlannedSession.id.not_in(charted)).order_by(PlannedSession.number)
        ).scalars()
    )
    if not rows:
        raise BadRequest("every planned session is already charted", "planned_session_id")
    near = [p for p in rows if abs((p.day - today).days) <= window_days]
    if not near:
        nxt = rows[0]
        raise BadRequest(
            f"no uncharted planned session is within {window_days} day(s) of today ({today}); "
            f"the next is #{nxt.number} planned for {nxt.day}: choose the planned session "
            "to chart",
            "planned_session_id",
        )
    return min(near, key=lambda p: (abs((p.day - today).days), p.number)), "date"


def create_session(
    db: Session,
    user: User,
    patient: Patient,
    body: SessionCreate,
    today: date | None = None,
    window_days: int = 1,
    tz: clock.TzLike = None,
) -> TreatmentSession:
    """Start charting a planned session of the active plan.

    The planned session is the one chosen, or else the uncharted one whose day is within
    ``window_days`` of ``today`` (the link records which). A second open session of the
    patient needs a clinician's ``concurrent_reason``. Conflicts (also between concurrent
    requests, through the database's unique indexes) raise :class:`SessionConflict` (409);
    its reason gives the open session's start in ``tz`` (the clinic's zone; default UTC).
    """
    # Serialise starts for one patient (PostgreSQL row lock; SQLite's write lock already does):
    # a start that read "no open session" before another committed would otherwise find its
    # planned session taken and answer 422 instead of the 409 naming the open session.
    db.execute(select(Patient.id).where(Patient.id == patient.id).with_for_update())
    plan = current_plan(db, patient.id)
    if plan is None:
        raise BadRequest("create a treatment plan before charting a session", "plan")
    route = _route_for(plan, body.route)
    other = _open_session(db, patient.id)
    reason = body.concurrent_reason.strip()
    if other is not None:
        if not reason:
            started = clock.format_local(other.created_at, tz, "%Y-%m-%d %H:%M")
            zone = clock.tz_label(other.created_at, tz)
            raise SessionConflict(
                f"session #{other.id} of this patient is still open (started "
                f"{started} {zone} by {other.nurse_email or 'staff'}); "
                "discharge it first, or a clinician records why a second session is needed",
                "concurrent_reason",
            )
        if user.role != Role.clinician:
            raise Forbidden(
                "only a clinician may open a second session while one is open",
                "concurrent_reason",
            )
    else:
        reason = ""
    day = today or date.today()
    planned, link = _choose_planned(db, plan, body.planned_session_id, day, window_days)
    row = TreatmentSession(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        plan_id=plan.id,
        planned_session_id=planned.id,
        route=route,
        product=body.product.strip()
        or ("SPRAVATO (esketamine) nasal spray" if plan.drug == "esketamine" else "Ketamine HCl"),
        lot=body.lot.strip(),
        planned_dose_mg=planned.planned_dose_mg,
        checklist={},
        nurse_id=user.id,
        nurse_email=user.email,
        concurrent_reason=reason,
        planned_link=link,
    )
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        raise SessionConflict(
            "another session of this patient (or of this planned session) was started at the "
            "same time; reload to see it",
            "planned_session_id",
        ) from None
    return row


def planned_of(db: Session, s: TreatmentSession) -> PlannedSession:
    """The planned session this session charts."""
    return db.execute(
        select(PlannedSession).where(PlannedSession.id == s.planned_session_id)
    ).scalar_one()


def pregnancy_applies(patient: Patient, on: date, settings: Settings) -> bool:
    """A pregnancy test applies to female patients in the configured age range [U]."""
    if patient.sex != Sex.female:
        return False
    lo, _, hi = settings.session_pregnancy_test_ages.partition("-")
    age = patient.age_on(on)
    try:
        return age is None or int(lo) <= age <= int(hi)
    except ValueError:
        return True


def _dt(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) and value else None


def predose_of(
    s: TreatmentSession, patient: Patient, settings: Settings, now: datetime, alerts: list[str]
) -> PreDose:
    """The stored checklist as the domain sees it."""
    c = s.checklist or {}
    return PreDose(
        route=s.route,
        systolic=c.get("systolic"),
        diastolic=c.get("diastolic"),
        heart_rate=c.get("heart_rate"),
        spo2=c.get("spo2"),
        last_food_at=_dt(c.get("last_food_at")),
        last_liquid_at=_dt(c.get("last_liquid_at")),
        pregnancy_test_applies=pregnancy_applies(patient, now.date(), settings),
        pregnancy_test=str(c.get("pregnancy_test") or ""),
        transport_arranged=bool(c.get("transport_arranged")),
        assessments_reviewed=bool(c.get("assessments_reviewed")),
        rems_enrolled=c.get("rems_enrolled"),
        bp_decision=s.bp_decision,
        bp_decision_reason=s.bp_decision_reason,
        bp_decision_by_clinician=s.bp_decision_by_id is not None,
        open_alerts=tuple(alerts),
    )


def save_checklist(
    db: Session,
    s: TreatmentSession,
    user: User,
    body: ChecklistIn,
    now: datetime,
) -> None:
    """Store the checklist and its pre-dose reading; a changed BP clears the BP decision."""
    require_open(s)
    if s.dose_start is not None:
        raise BadRequest("the dose is already recorded", "checklist")
    implausible = bp_implausible(body.systolic, body.diastolic)
    if implausible is not None:
        raise BadRequest(implausible.text, "diastolic")
    for name in ("last_food_at", "last_liquid_at", "measured_at"):
        value = getattr(body, name)
        if value is not None:
            check_time(value, now, name)
    data = body.model_dump(mode="json")
    old = s.checklist or {}
    if (old.get("systolic"), old.get("diastolic")) != (body.systolic, body.diastolic):
        s.bp_decision, s.bp_decision_reason = "", ""
        s.bp_decision_by_id, s.bp_decision_at = None, None
    s.checklist = data
    reading = db.execute(
        select(VitalSign).where(VitalSign.session_id == s.id, VitalSign.pre_dose.is_(True))
    ).scalar_one_or_none()
    new = reading is None
    if reading is None:
        reading = VitalSign(session_id=s.id, pre_dose=True, flags=[])
        db.add(reading)
    values = (body.systolic, body.diastolic, body.heart_rate, body.spo2)
    old_values = (reading.systolic, reading.diastolic, reading.heart_rate, reading.spo2)
    if body.measured_at is not None:
        reading.at = body.measured_at
    elif new or old_values != values:  # unchanged values keep their time
        reading.at = now
    reading.systolic, reading.diastolic = body.systolic, body.diastolic
    reading.heart_rate, reading.spo2 = body.heart_rate, body.spo2
    reading.entered_by_id = user.id
    db.flush()


def decide_bp(
    db: Session, s: TreatmentSession, user: User, body: DecisionIn, needed: bool, now: datetime
) -> None:
    """A clinician decides to proceed or defer on a raised pre-dose BP."""
    require_open(s)
    if user.role != Role.clinician:
        raise Forbidden("only a clinician may decide on a raised blood pressure")
    if not needed:
        raise BadRequest("the pre-dose BP needs no decision", "decision")
    s.bp_decision, s.bp_decision_reason = body.decision, body.reason.strip()
    s.bp_decision_by_id, s.bp_decision_at = user.id, now
    db.flush()


def record_dose(
    db: Session,
    s: TreatmentSession,
    body: DoseIn,
    predose: PreDoseResult,
    now: datetime,
    infusion_min: float | None,
) -> None:
    """Record the dose; the pre-dose checklist must be complete."""
    require_open(s)
    if s.dose_start is not None:
        raise BadRequest("is already recorded", "dose")
    if not predose.complete:
        first = predose.unmet[0]
        raise BadRequest(f"pre-dose checklist incomplete: {first.text}", "checklist")
    start = check_time(body.dose_start or now, now, "dose_start")
    base = db.execute(
        select(VitalSign.at).where(VitalSign.session_id == s.id, VitalSign.pre_dose.is_(True))
    ).scalar_one_or_none()
    if base is not None and start < base:
        raise BadRequest(
            f"must not be before the pre-dose reading ({base:%H:%M} UTC); when the vitals were "
            "charted late, enter the time they were measured on the checklist",
            "dose_start",
        )
    if s.route == "esketamine":
        if body.given_dose_mg not in (28, 56, 84):
            raise BadRequest("must be 28, 56 or 84 mg (28 mg devices)", "given_dose_mg")
        devices = body.devices or int(body.given_dose_mg // 28)
        if devices * 28 != body.given_dose_mg:
            raise BadRequest("must match the dose (28 mg each)", "devices")
        last = body.last_device_at or start + DEVICE_INTERVAL * (devices - 1)
        if last < start:
            raise BadRequest("must not be before the first device", "last_device_at")
        s.devices, s.last_device_at = devices, check_time(last, now, "last_device_at")
        s.dose_end = s.last_device_at
    else:
        default_end = start + timedelta(minutes=infusion_min or 40) if s.route == "iv" else start
        end = body.dose_end or default_end
        if end < start:
            raise BadRequest("must not be before the start", "dose_end")
        s.dose_end = end
    s.given_dose_mg, s.dose_start = body.given_dose_mg, start
    if body.product is not None and body.product.strip():
        s.product = body.product.strip()
    if body.lot is not None:
        s.lot = body.lot.strip()
    s.checklist_complete = True
    db.flush()


def open_session(db: Session, actor: Actor, session_id: int) -> TreatmentSession:
    """A session of the actor's clinic (NotFound otherwise), audited as a read."""
    assert actor.user is not None
    row = queries.get_session(db, actor.user.clinic_id, session_id)
    record(db, actor, "read", "treatment_session", row.id, row.patient_id)
    return row
