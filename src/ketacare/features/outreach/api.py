"""Assessment schedules and the overdue list, JSON API (staff bearer tokens, clinic-scoped).

Paths are those they had under ``assessments`` (tag ``assessments``)."""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, Response

from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.params import DaysQuery, RowId
from ketacare.features.auth.deps import ApiActor
from ketacare.features.outreach import queries
from ketacare.features.outreach import service as outreach
from ketacare.features.outreach.jobs import deliver
from ketacare.features.outreach.notify import notifier_from_settings
from ketacare.features.outreach.schemas import (
    OverdueOut,
    ScheduleCreate,
    ScheduleOut,
    ScheduleUpdate,
)
from ketacare.features.patients.deps import ApiPatient

router = APIRouter(prefix="/api/v1", tags=["assessments"])
P = "/patients/{patient_id}"


@router.get(P + "/schedules", response_model=list[ScheduleOut])
def list_schedules(patient: ApiPatient, db: DbDep) -> list[ScheduleOut]:
    """The patient's assessment schedules."""
    return [ScheduleOut.model_validate(s) for s in queries.list_schedules(db, patient.id)]


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
    data = outreach.ScheduleInput(
        body.instrument,
        body.recurrence.value,
        body.start_date.isoformat(),
        body.interval_weeks,
        body.until_date.isoformat() if body.until_date else "",
    )
    row = outreach.add_schedule(db, actor, patient, data)
    outgoing = outreach.dispatch_due(db, settings, now, [row.id])
    tasks.add_task(
        deliver, request.app.state.sessions, settings, notifier_from_settings(settings), outgoing
    )
    return ScheduleOut.model_validate(row)


@router.get(P + "/schedules/{schedule_id}", response_model=ScheduleOut)
def read_schedule(schedule_id: RowId, patient: ApiPatient, db: DbDep) -> ScheduleOut:
    """One schedule of the patient."""
    return ScheduleOut.model_validate(outreach.get_schedule(db, patient.id, schedule_id))


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
    row = outreach.get_schedule(db, patient.id, schedule_id)
    until = body.until_date if "until_date" in body.model_fields_set else False
    outreach.change_schedule(db, actor, row, now, until=until, stop=body.active is False)
    return ScheduleOut.model_validate(row)


@router.delete(P + "/schedules/{schedule_id}", status_code=204)
def delete_schedule(
    schedule_id: RowId, patient: ApiPatient, actor: ApiActor, db: DbDep, now: NowDep
) -> Response:
    """Stop the schedule (kept for the record); its unanswered links stop working."""
    row = outreach.get_schedule(db, patient.id, schedule_id)
    outreach.change_schedule(db, actor, row, now, stop=True, action="delete")
    return Response(status_code=204)


@router.get("/overdue", response_model=list[OverdueOut])
def overdue(actor: ApiActor, db: DbDep, now: NowDep, days: DaysQuery = 90) -> list[OverdueOut]:
    """Assessments due and not completed in the last ``days`` days, oldest first."""
    rows = outreach.overdue_for(db, actor, now, days)
    return [OverdueOut.model_validate(r) for r in rows]
