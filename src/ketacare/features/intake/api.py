"""Intake, assessment, treatment plan and PK JSON API (staff bearer tokens, clinic-scoped).

Every read and write of the record is audited; bad input is a 422 naming the field, with
nothing stored.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Request
from fastapi.responses import Response

from ketacare.domain.intake.verdict import assess_intake, verdict_to_dict
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import page_tz
from ketacare.features.auth.deps import ApiActor
from ketacare.features.intake import plans, service
from ketacare.features.intake.models import PlannedSession, TreatmentPlan
from ketacare.features.intake.schemas import (
    IntakeOut,
    IntakeVersionOut,
    PkCovariates,
    PkOut,
    PlanCreate,
    PlanOut,
)
from ketacare.features.patients.deps import ApiPatient
from ketacare.features.pk import plan as planpk

router = APIRouter(prefix="/api/v1/patients", tags=["intake"])
IntakeBody = Annotated[
    dict[str, Any],
    Body(description="The intake document (docs/intake.md §5); absent or null means unknown."),
]


def saved_hook(request: Request) -> service.SavedHook | None:
    """The app's after-save hook (``app.state.intake_saved``: carry the intake's PHQ-9 into the
    measurement record, issue 13.11), or None. The assessments feature provides it (it
    imports this one, not the other way round)."""
    hook: service.SavedHook | None = getattr(request.app.state, "intake_saved", None)
    return hook


@router.get("/{patient_id}/intake", response_model=IntakeOut)
def read_intake(patient: ApiPatient, actor: ApiActor, db: DbDep) -> IntakeOut:
    """The current (newest) intake version."""
    rec = service.open_intake(db, actor, patient.id)
    assert rec is not None
    return IntakeOut.of(rec)


@router.put("/{patient_id}/intake", response_model=IntakeOut)
def save_intake(
    body: IntakeBody,
    request: Request,
    patient: ApiPatient,
    actor: ApiActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
    comment: str = "",
) -> IntakeOut:
    """Save the intake as a new version (earlier versions are kept)."""
    hook = saved_hook(request)
    rec = service.record_intake(db, actor, patient, body, comment, now, settings, hook)
    return IntakeOut.of(rec)


@router.get("/{patient_id}/intake/versions", response_model=list[IntakeVersionOut])
def list_versions(patient: ApiPatient, actor: ApiActor, db: DbDep) -> list[IntakeVersionOut]:
    """Every saved version, newest first (who and when)."""
    return [IntakeVersionOut.of(r) for r in service.list_intake(db, actor, patient.id)]


@router.get("/{patient_id}/intake/versions/{version}", response_model=IntakeOut)
def read_version(version: RowId, patient: ApiPatient, actor: ApiActor, db: DbDep) -> IntakeOut:
    """One saved version."""
    rec = service.open_intake(db, actor, patient.id, version)
    assert rec is not None
    return IntakeOut.of(rec)


@router.get("/{patient_id}/assessment")
def read_assessment(
    patient: ApiPatient, actor: ApiActor, db: DbDep, settings: SettingsDep
) -> dict[str, Any]:
    """DSM-5, TRD staging, eligibility and care pathway of the current intake, with reasons."""
    rec = service.open_assessment(db, actor, patient.id)
    assert rec is not None
    config = service.rules_config(settings)
    result = verdict_to_dict(assess_intake(service.intake_of(rec), config))
    return {"patient_id": patient.id, "intake_version": rec.version, **result}


@router.get("/{patient_id}/plan", response_model=PlanOut)
def read_plan(patient: ApiPatient, actor: ApiActor, db: DbDep) -> PlanOut:
    """The active treatment plan with its sessions."""
    plan = plans.open_plan(db, actor, patient.id)
    version = plans.intake_version_of(db, plan)
    return PlanOut.of(plan, plans.sessions_of(db, plan.id), version)


@router.post("/{patient_id}/plan", response_model=PlanOut, status_code=201)
def create_plan(body: PlanCreate, patient: ApiPatient, actor: ApiActor, db: DbDep) -> PlanOut:
    """Plan a course from the current intake; the previous plan is superseded (kept)."""
    data = plans.PlanInput(
        protocol_id=body.protocol_id,
        start_date=body.start_date.isoformat(),
        weekdays=body.weekdays,
        variant=body.variant or "",
        esketamine_dose_mg="" if body.esketamine_dose_mg is None else str(body.esketamine_dose_mg),
    )
    plan = plans.make_plan(db, actor, patient, data)
    version = plans.intake_version_of(db, plan)
    return PlanOut.of(plan, plans.sessions_of(db, plan.id), version)


@router.get("/{patient_id}/plan.ics", response_class=Response)
def plan_calendar(request: Request, patient: ApiPatient, actor: ApiActor, db: DbDep) -> Response:
    """The active plan as an iCalendar file (timed events at the clinic, no patient data)."""
    plan = plans.open_plan(db, actor, patient.id, "export")
    return ics_response(request, plan, plans.sessions_of(db, plan.id))


def ics_response(request: Request, plan: TreatmentPlan, sessions: list[PlannedSession]) -> Response:
    """The calendar as a download (sessions at the clinic's start time, in its zone)."""
    return Response(
        plans.plan_ics(plan, sessions, request.app.state.settings, page_tz(request)),
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="treatment-plan-{plan.id}.ics"'},
    )


@router.get("/{patient_id}/plan/pk", response_model=PkOut)
def plan_pk(patient: ApiPatient, actor: ApiActor, db: DbDep, model: str | None = None) -> PkOut:
    """Predicted concentration over the planned course with a 90 % band (decision support,
    not dosing guidance)."""
    plan = plans.require_plan(db, patient.id)
    sessions = plans.sessions_of(db, plan.id)
    result = planpk.audited_plan_pk(db, actor, plan, sessions, model)
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
