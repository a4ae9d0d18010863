"""Treatment plans: a protocol course placed on the calendar, with planned doses (flush only).

The calendar comes from ``ketacare.domain.course.scheduling``; IV doses from the dosing rules
with the weight of the current intake; esketamine doses from the protocol steps (first session
the start dose, later sessions the chosen step, checked by ``esketamine_dose``). A new plan
supersedes the active one; plans and sessions are never changed or deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import TypeVar

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.domain.course.dosing import DoseRuleError, esketamine_dose
from ketacare.domain.course.protocols import Protocol, ProtocolError
from ketacare.domain.course.scheduling import (
    WEEKDAY_NAMES,
    Schedule,
    ScheduleConstraints,
    ScheduleError,
    parse_weekdays,
    plan_course,
)
from ketacare.domain.course.scheduling import Session as DomainSession
from ketacare.domain.errors import DomainError, InvalidAnswer
from ketacare.features._kit import clock
from ketacare.features._kit.dates import parse_day
from ketacare.features._kit.errors import BadRequest, KetacareError, NotFound
from ketacare.features.audit.service import record as audit
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import User
from ketacare.features.intake.calendar import schedule_to_ics
from ketacare.features.intake.models import (
    IntakeRecord,
    PlannedSession,
    PlanStatus,
    TreatmentPlan,
)
from ketacare.features.intake.protocol_files import load_protocols
from ketacare.features.intake.service import current_intake, intake_of
from ketacare.features.patients.models import Patient
from ketacare.settings import Settings

DEFAULT_WEEKDAYS = ("mon", "wed", "fri")
T = TypeVar("T")


class PlanConflict(KetacareError):
    """Another plan of the patient was created at the same time (one active plan)."""

    status_code = 409


@dataclass(frozen=True, slots=True)
class PlanInput:
    """What a clinician chooses (strings as typed in a form or sent as JSON)."""

    protocol_id: str
    start_date: str
    weekdays: Sequence[str] = DEFAULT_WEEKDAYS
    variant: str = ""
    esketamine_dose_mg: str = ""


def protocols() -> Mapping[str, Protocol]:
    """The protocols a plan may use (the built-in protocol files)."""
    return load_protocols(None)


def _protocol(protocol_id: str) -> Protocol:
    known = protocols()
    if protocol_id not in known:
        raise BadRequest(f"must be one of {', '.join(sorted(known))}", "protocol_id")
    return known[protocol_id]


def _weekdays(values: Sequence[str]) -> tuple[frozenset[int], str]:
    parts = [v.strip() for v in values if v.strip()]
    if not parts:
        raise BadRequest("choose at least one weekday", "weekdays")
    try:
        days = parse_weekdays(",".join(parts))
    except ScheduleError as exc:
        raise BadRequest(exc.reason, "weekdays") from None
    return days, ",".join(WEEKDAY_NAMES[d] for d in sorted(days))


def _esketamine_doses(p: Protocol, variant: str | None, later: str, n: int) -> list[int]:
    first = esketamine_dose(p, None, [], variant=variant).dose_mg
    chosen = first
    if later.strip():
        try:
            chosen = int(later)
        except ValueError:
            raise BadRequest("must be a whole number of mg", "esketamine_dose_mg") from None
        try:
            esketamine_dose(p, chosen, [first], variant=variant)
        except DoseRuleError as exc:
            reason = str(exc).partition(": ")[2] or str(exc)
            raise BadRequest(reason, "esketamine_dose_mg") from None
    return [first] + [chosen] * (n - 1)


def create_plan(db: Session, user: User, patient: Patient, data: PlanInput) -> TreatmentPlan:
    """Plan a course from the current intake; supersede the active plan.

    Raises
    ------
    BadRequest
        Naming the field (``protocol_id``, ``start_date``, ``weekdays``, ``variant``,
        ``esketamine_dose_mg``, ``intake`` or an intake field); nothing is stored.
    """
    record = current_intake(db, patient.id)
    if record is None:
        raise BadRequest("record an intake before planning a course", "intake")
    p = _protocol(data.protocol_id.strip())
    start = parse_day(data.start_date, "start_date")
    days, weekday_text = _weekdays(data.weekdays)
    variant = data.variant.strip() or None
    if variant is not None:
        try:
            p.variant(variant)
        except ProtocolError as exc:
            raise BadRequest(exc.reason, "variant") from None
    intake = intake_of(record)
    weight = intake.demographics.weight_kg
    age = intake.demographics.age_years
    if age is None and patient.birth_date is not None:
        age = patient.age_on(start)
    per_kg = p.dose.kind == "per_kg"
    if per_kg and weight is None:
        raise BadRequest(
            "is needed to plan IV doses; record it in the intake", "demographics.weight_kg"
        )
    if per_kg and data.esketamine_dose_mg.strip():
        raise BadRequest(f"is not used by the mg/kg protocol {p.id}", "esketamine_dose_mg")
    try:
        schedule = plan_course(
            p,
            start,
            ScheduleConstraints(days),
            weight_kg=weight if per_kg else None,
            variant=variant,
            height_cm=intake.demographics.height_cm,
            sex=intake.demographics.sex,
        )
    except ScheduleError as exc:
        where = "" if exc.field == "weekdays" else f"{exc.field}: "
        raise BadRequest(where + exc.reason, "weekdays") from None
    except InvalidAnswer as exc:
        raise BadRequest(exc.reason, f"demographics.{exc.field}") from None
    except DoseRuleError as exc:
        # A plan has no override: a dose above a ceiling (also per actual weight) is refused.
        raise BadRequest(str(exc).partition(": ")[2] or str(exc), "protocol_id") from None
    except DomainError as exc:
        raise BadRequest(str(exc), "protocol_id") from None
    doses: list[float | None]
    if per_kg:
        doses = [s.planned_dose_mg for s in schedule.sessions]
        labels = [s.dose_label for s in schedule.sessions]
    else:
        mg = _esketamine_doses(p, variant, data.esketamine_dose_mg, len(schedule.sessions))
        doses = [float(x) for x in mg]
        labels = [f"{x} mg ({x // 28} device{'' if x == 28 else 's'})" for x in mg]
    plan = TreatmentPlan(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        intake_id=record.id,
        protocol_id=p.id,
        protocol_version=p.version,
        protocol_title=p.title[:200],
        drug=p.drug,
        route=p.route,
        variant=variant,
        start_date=start,
        weekdays=weekday_text,
        weight_kg=weight,
        age_years=age,
        status=PlanStatus.active,
        created_by_id=user.id,
        created_by_email=user.email,
    )
    try:
        with db.begin_nested():  # one active plan per patient: uq_treatment_plan_one_active
            db.execute(
                update(TreatmentPlan)
                .where(
                    TreatmentPlan.patient_id == patient.id,
                    TreatmentPlan.status == PlanStatus.active,
                )
                .values(status=PlanStatus.superseded)
            )
            db.add(plan)
            db.flush()
    except IntegrityError:
        raise PlanConflict(
            "another plan for this patient was created at the same time; reload and check it",
            "plan",
        ) from None
    for s, mg_, label in zip(schedule.sessions, doses, labels, strict=True):
        db.add(
            PlannedSession(
                plan_id=plan.id,
                number=s.number,
                day=s.day,
                phase=s.phase,
                planned_dose_mg=mg_,
                dose_mg_per_kg=p.dose.mg_per_kg if per_kg else None,
                dose_label=label[:100],
                route=p.route,
                infusion_min=p.dose.duration_min if per_kg else None,
            )
        )
    db.flush()
    return plan


def current_plan(db: Session, patient_id: int) -> TreatmentPlan | None:
    """The active plan, or None."""
    return db.execute(
        select(TreatmentPlan)
        .where(TreatmentPlan.patient_id == patient_id, TreatmentPlan.status == PlanStatus.active)
        .order_by(TreatmentPlan.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def require_plan(db: Session, patient_id: int) -> TreatmentPlan:
    """The active plan, or NotFound naming ``plan``."""
    plan = current_plan(db, patient_id)
    if plan is None:
        raise NotFound("no treatment plan has been created for this patient", "plan")
    return plan


def plan_history(db: Session, patient_id: int) -> list[TreatmentPlan]:
    """Every plan of the patient, newest first."""
    stmt = (
        select(TreatmentPlan)
        .where(TreatmentPlan.patient_id == patient_id)
        .order_by(TreatmentPlan.id.desc())
    )
    return list(db.execute(stmt).scalars())


def sessions_of(db: Session, plan_id: int) -> list[PlannedSession]:
    """The plan's sessions in order."""
    stmt = (
        select(PlannedSession)
        .where(PlannedSession.plan_id == plan_id)
        .order_by(PlannedSession.number)
    )
    return list(db.execute(stmt).scalars())


def plan_ics(
    plan: TreatmentPlan,
    sessions: Sequence[PlannedSession],
    settings: Settings | None = None,
    tz: str | None = None,
) -> str:
    """The plan as an iCalendar file (no patient data): timed events at the clinic's session
    start time in its zone, at the clinic, with ``settings`` and ``tz``; else all-day."""
    schedule = Schedule(
        plan.protocol_id,
        plan.protocol_version,
        plan.start_date,
        tuple(
            DomainSession(s.number, s.day, s.phase, s.planned_dose_mg, s.dose_label)
            for s in sessions
        ),
    )
    stamp: datetime = plan.created_at
    uid_domain = f"plan-{plan.id}.ketacare.invalid"
    if settings is None or tz is None:
        return schedule_to_ics(schedule, stamp, uid_domain=uid_domain)
    place = ", ".join(p for p in (settings.clinic_name, settings.rems_setting_address) if p)
    return schedule_to_ics(
        schedule,
        stamp,
        uid_domain=uid_domain,
        start_time=time.fromisoformat(settings.session_start_time),
        tz=clock.zone(tz),
        duration=timedelta(minutes=settings.session_duration_min),
        location=place,
    )


def intake_version_of(db: Session, plan: TreatmentPlan) -> int:
    """The intake version number the plan was made from."""
    stmt = select(IntakeRecord.version).where(IntakeRecord.id == plan.intake_id)
    return int(db.execute(stmt).scalar_one())


def make_plan(db: Session, actor: Actor, patient: Patient, data: PlanInput) -> TreatmentPlan:
    """:func:`create_plan` by ``actor`` (staff), audited as a create."""
    assert actor.user is not None
    plan = create_plan(db, actor.user, patient, data)
    audit(db, actor, "create", "treatment_plan", plan.id, patient.id)
    return plan


def open_plan(db: Session, actor: Actor, patient_id: int, action: str = "read") -> TreatmentPlan:
    """The active plan (NotFound without one), audited as ``action`` (read or export)."""
    plan = require_plan(db, patient_id)
    audit(db, actor, action, "treatment_plan", plan.id, patient_id)
    return plan


def shown_plan(db: Session, actor: Actor, patient_id: int) -> TreatmentPlan | None:
    """The active plan or None; a plan shown is audited as a read."""
    plan = current_plan(db, patient_id)
    if plan is not None:
        audit(db, actor, "read", "treatment_plan", plan.id, patient_id)
    return plan


def preview_plan(
    db: Session,
    actor: Actor,
    patient: Patient,
    data: PlanInput,
    inspect: Callable[[TreatmentPlan], T],
) -> T:
    """Validate and lay out the course in a savepoint that is rolled back (nothing is stored,
    nothing audited) and return what ``inspect`` makes of the draft plan."""
    assert actor.user is not None
    trial = db.begin_nested()
    try:
        return inspect(create_plan(db, actor.user, patient, data))
    finally:
        trial.rollback()
