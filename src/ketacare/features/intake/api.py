"""Intake, assessment, treatment plan and PK JSON API (staff bearer tokens, clinic-scoped).

Every read and write of the record is audited; bad input is a 422 naming the field, with
nothing stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from ketacare.domain.intake.verdict import assess_intake, verdict_to_dict
from ketacare.features._kit.deps import DbDep, SettingsDep, client_ip
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import page_tz
from ketacare.features.audit.service import record
from ketacare.features.auth.deps import ApiStaff
from ketacare.features.auth.models import User
from ketacare.features.intake import pk as planpk
from ketacare.features.intake import plans, service
from ketacare.features.intake.models import IntakeRecord, PlannedSession, TreatmentPlan
from ketacare.features.intake.schemas import (
    IntakeOut,
    IntakeVersionOut,
    PkCovariates,
    PkOut,
    PlanCreate,
    PlanOut,
)
from ketacare.features.patients.deps import ApiPatient
from ketacare.features.patients.models import Patient

router = APIRouter(prefix="/api/v1/patients", tags=["intake"])
IntakeBody = Annotated[
    dict[str, Any],
    Body(description="The intake document (docs/intake.md §5); absent or null means unknown."),
]


def _audit(
    request: Request,
    db: DbDep,
    user: ApiStaff,
    action: str,
    resource: str,
    rid: object,
    patient_id: int,
) -> None:
    record(db, user, action, resource, rid, patient_id, channel="api", client=client_ip(request))


@router.get("/{patient_id}/intake", response_model=IntakeOut)
def read_intake(request: Request, patient: ApiPatient, user: ApiStaff, db: DbDep) -> IntakeOut:
    """The current (newest) intake version."""
    rec = service.require_intake(db, patient.id)
    _audit(request, db, user, "read", "intake", rec.id, patient.id)
    return IntakeOut.of(rec)


@router.put("/{patient_id}/intake", response_model=IntakeOut)
def save_intake(
    body: IntakeBody,
    request: Request,
    patient: ApiPatient,
    user: ApiStaff,
    db: DbDep,
    comment: str = "",
) -> IntakeOut:
    """Save the intake as a new version (earlier versions are kept)."""
    rec = service.save_intake(db, user, patient, body, comment)
    action = "create" if rec.version == 1 else "update"
    _audit(request, db, user, action, "intake", rec.id, patient.id)
    carry_to_record(request, db, user, patient, rec, "api")
    return IntakeOut.of(rec)


@router.get("/{patient_id}/intake/versions", response_model=list[IntakeVersionOut])
def list_versions(
    request: Request, patient: ApiPatient, user: ApiStaff, db: DbDep
) -> list[IntakeVersionOut]:
    """Every saved version, newest first (who and when)."""
    records = service.intake_versions(db, patient.id)
    _audit(request, db, user, "list", "intake", "", patient.id)
    return [IntakeVersionOut.of(r) for r in records]


@router.get("/{patient_id}/intake/versions/{version}", response_model=IntakeOut)
def read_version(
    version: RowId, request: Request, patient: ApiPatient, user: ApiStaff, db: DbDep
) -> IntakeOut:
    """One saved version."""
    rec = service.intake_version(db, patient.id, version)
    _audit(request, db, user, "read", "intake", rec.id, patient.id)
    return IntakeOut.of(rec)


@router.get("/{patient_id}/assessment")
def read_assessment(
    request: Request, patient: ApiPatient, user: ApiStaff, db: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    """DSM-5, TRD staging, eligibility and care pathway of the current intake, with reasons."""
    rec = service.require_intake(db, patient.id)
    _audit(request, db, user, "read", "assessment", rec.id, patient.id)
    config = service.rules_config(settings)
    result = verdict_to_dict(assess_intake(service.intake_of(rec), config))
    return {"patient_id": patient.id, "intake_version": rec.version, **result}


@router.get("/{patient_id}/plan", response_model=PlanOut)
def read_plan(request: Request, patient: ApiPatient, user: ApiStaff, db: DbDep) -> PlanOut:
    """The active treatment plan with its sessions."""
    plan = plans.require_plan(db, patient.id)
    _audit(request, db, user, "read", "treatment_plan", plan.id, patient.id)
    version = plans.intake_version_of(db, plan)
    return PlanOut.of(plan, plans.sessions_of(db, plan.id), version)


@router.post("/{patient_id}/plan", response_model=PlanOut, status_code=201)
def create_plan(
    body: PlanCreate, request: Request, patient: ApiPatient, user: ApiStaff, db: DbDep
) -> PlanOut:
    """Plan a course from the current intake; the previous plan is superseded (kept)."""
    data = plans.PlanInput(
        protocol_id=body.protocol_id,
        start_date=body.start_date.isoformat(),
        weekdays=body.weekdays,
        variant=body.variant or "",
        esketamine_dose_mg="" if body.esketamine_dose_mg is None else str(body.esketamine_dose_mg),
    )
    plan = plans.create_plan(db, user, patient, data)
    _audit(request, db, user, "create", "treatment_plan", plan.id, patient.id)
    version = plans.intake_version_of(db, plan)
    return PlanOut.of(plan, plans.sessions_of(db, plan.id), version)


@router.get("/{patient_id}/plan.ics", response_class=Response)
def plan_calendar(request: Request, patient: ApiPatient, user: ApiStaff, db: DbDep) -> Response:
    """The active plan as an iCalendar file (timed events at the clinic, no patient data)."""
    plan = plans.require_plan(db, patient.id)
    _audit(request, db, user, "export", "treatment_plan", plan.id, patient.id)
    return ics_response(request, plan, plans.sessions_of(db, plan.id))


def ics_response(request: Request, plan: TreatmentPlan, sessions: list[PlannedSession]) -> Response:
    """The calendar as a download (sessions at the clinic's start time, in its zone)."""
    return Response(
        plans.plan_ics(plan, sessions, request.app.state.settings, page_tz(request)),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="treatment-plan-{plan.id}.ics"'},
    )


@router.get("/{patient_id}/plan/pk", response_model=PkOut)
def plan_pk(
    request: Request, patient: ApiPatient, user: ApiStaff, db: DbDep, model: str | None = None
) -> PkOut:
    """Predicted concentration over the planned course with a 90 % band (decision support,
    not dosing guidance)."""
    plan = plans.require_plan(db, patient.id)
    sessions = plans.sessions_of(db, plan.id)
    result = planpk.plan_pk(plan, sessions, model)
    _audit(request, db, user, "read", "plan_pk", plan.id, patient.id)
    b = result.band

    def r(xs: Any) -> list[float]:
        return [round(float(x), 3) for x in xs]

    return PkOut(
        disclaimer=planpk.DISCLAIMER,
        plan_id=plan.id,
        model=b.model,
        model_title=result.model_title,
        citation=result.citation,
        units={"time": "min", "concentration": "ng/mL", "dose": "mg of base"},
        covariates=PkCovariates(
            weight_kg=result.weight_kg, age_years=result.age_years, notes=list(result.notes)
        ),
        band="90% between-patient prediction band: 5th to 95th percentile",
        n_simulated=b.n_simulated,
        iiv_source=b.iiv_source,
        times_min=r(b.times_min),
        typical=r(b.typical_ng_per_ml),
        p5=r(b.p05_ng_per_ml),
        p50=r(b.p50_ng_per_ml),
        p95=r(b.p95_ng_per_ml),
    )


def carry_to_record(
    request: Request, db: Session, user: User, patient: Patient, record: IntakeRecord, channel: str
) -> None:
    """Carry the intake's PHQ-9 into the measurement record (issue 13.11).

    The assessments feature does it (it imports this one, not the other way round); the app
    hands its function over as ``app.state.intake_saved``. Without it nothing is carried.
    """
    hook = getattr(request.app.state, "intake_saved", None)
    if hook is not None:
        hook(request, db, user, patient, record, channel)
