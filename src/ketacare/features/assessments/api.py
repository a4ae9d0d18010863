"""Measurement-based care JSON API (staff bearer tokens, clinic-scoped)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Request, Response
from fastapi.responses import JSONResponse

from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.params import DaysQuery, OptionalRowIdQuery, RowId
from ketacare.features.assessments import alerting, links, service
from ketacare.features.assessments.models import Source
from ketacare.features.assessments.periodic import deliver
from ketacare.features.assessments.schemas import (
    AcknowledgeBody,
    AlertOut,
    AssessmentCreate,
    AssessmentOut,
    OverdueOut,
    ScheduleCreate,
    ScheduleOut,
    ScheduleUpdate,
)
from ketacare.features.auth.deps import ApiActor
from ketacare.features.outreach.notify import notifier_from_settings
from ketacare.features.patients.deps import ApiPatient

router = APIRouter(prefix="/api/v1", tags=["assessments"])
P = "/patients/{patient_id}"


@router.get(P + "/schedules", response_model=list[ScheduleOut])
def list_schedules(patient: ApiPatient, db: DbDep) -> list[ScheduleOut]:
    """The patient's assessment schedules."""
    return [ScheduleOut.model_validate(s) for s in links.list_schedules(db, patient.id)]


@router.post(P + "/schedules", response_model=ScheduleOut, status_code=201)
def create_schedule(
    body: ScheduleCreate,
    request: Request,
    patient: ApiPatient,
    actor: ApiActor,
    db: DbDep,
    settings: SettingsDep,
    tasks: BackgroundTasks,
    now: NowDep,
) -> ScheduleOut:
    """Create a schedule; links already due are created now and sent after the commit."""
    data = links.ScheduleInput(
        body.instrument,
        body.recurrence.value,
        body.start_date.isoformat(),
        body.interval_weeks,
        body.until_date.isoformat() if body.until_date else "",
    )
    row = links.add_schedule(db, actor, patient, data)
    outgoing = links.dispatch_due(db, settings, now, [row.id])
    tasks.add_task(
        deliver, request.app.state.sessions, settings, notifier_from_settings(settings), outgoing
    )
    return ScheduleOut.model_validate(row)


@router.get(P + "/schedules/{schedule_id}", response_model=ScheduleOut)
def read_schedule(schedule_id: RowId, patient: ApiPatient, db: DbDep) -> ScheduleOut:
    """One schedule of the patient."""
    return ScheduleOut.model_validate(links.get_schedule(db, patient.id, schedule_id))


@router.patch(P + "/schedules/{schedule_id}", response_model=ScheduleOut)
def update_schedule(
    schedule_id: RowId,
    body: ScheduleUpdate,
    patient: ApiPatient,
    actor: ApiActor,
    db: DbDep,
    now: NowDep,
) -> ScheduleOut:
    """Change the end date (null: no end) or stop the schedule."""
    row = links.get_schedule(db, patient.id, schedule_id)
    until = body.until_date if "until_date" in body.model_fields_set else False
    links.change_schedule(db, actor, row, now, until=until, stop=body.active is False)
    return ScheduleOut.model_validate(row)


@router.delete(P + "/schedules/{schedule_id}", status_code=204)
def delete_schedule(
    schedule_id: RowId, patient: ApiPatient, actor: ApiActor, db: DbDep, now: NowDep
) -> Response:
    """Stop the schedule (kept for the record); its unanswered links stop working."""
    row = links.get_schedule(db, patient.id, schedule_id)
    links.change_schedule(db, actor, row, now, stop=True, action="delete")
    return Response(status_code=204)


@router.get(P + "/assessments", response_model=list[AssessmentOut])
def list_assessments(
    patient: ApiPatient, actor: ApiActor, db: DbDep, instrument: str = ""
) -> list[AssessmentOut]:
    """The patient's assessments, oldest first (optionally one instrument)."""
    rows = service.patient_assessments(db, actor, patient.id, instrument or None)
    return [AssessmentOut.model_validate(r) for r in rows]


@router.post(
    P + "/assessments",
    response_model=AssessmentOut,
    status_code=201,
    responses={200: {"model": AssessmentOut, "description": "Stored earlier under this key."}},
)
def create_assessment(
    body: AssessmentCreate,
    patient: ApiPatient,
    actor: ApiActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> Response:
    """Score and store an assessment and raise its alerts (422 names the bad item)."""
    row, alerts, created = service.store_assessment(
        db,
        patient,
        body.instrument,
        body.answers,
        Source(body.source),
        actor,
        body.completed_at,
        idempotency_key,
        settings.outcome_baseline,
        now=now,
    )
    if not created:
        alerts = [a for a, _ in alerting.list_alerts(db, patient.clinic_id, "", patient.id)]
        alerts = [a for a in alerts if a.assessment_id == row.id]
    out = AssessmentOut.model_validate(row)
    out.alerts = [AlertOut.model_validate(a) for a in alerts]
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.get("/alerts", response_model=list[AlertOut])
def list_alerts(
    actor: ApiActor,
    db: DbDep,
    status: str = "",
    patient_id: OptionalRowIdQuery = None,
) -> list[AlertOut]:
    """Alerts of the clinic, open first (``status=open`` for the work queue)."""
    rows = alerting.alerts_for(db, actor, status, patient_id)
    return [AlertOut.model_validate(a) for a, _ in rows]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(
    alert_id: RowId, body: AcknowledgeBody, actor: ApiActor, db: DbDep, now: NowDep
) -> AlertOut:
    """Acknowledge an open alert with a note (who and when are recorded)."""
    alert = alerting.acknowledge(db, actor, alert_id, body.note, now)
    return AlertOut.model_validate(alert)


@router.get("/overdue", response_model=list[OverdueOut])
def overdue(actor: ApiActor, db: DbDep, now: NowDep, days: DaysQuery = 90) -> list[OverdueOut]:
    """Assessments due and not completed in the last ``days`` days, oldest first."""
    rows = links.overdue_for(db, actor, now, days)
    return [OverdueOut.model_validate(r) for r in rows]
