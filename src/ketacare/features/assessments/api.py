"""Measurement-based care JSON API (staff bearer tokens, clinic-scoped)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Request, Response
from fastapi.responses import JSONResponse

from ketacare.db.base import utcnow
from ketacare.features._kit.deps import DbDep, SettingsDep, client_ip
from ketacare.features._kit.errors import BadRequest
from ketacare.features._kit.params import DaysQuery, OptionalRowIdQuery, RowId
from ketacare.features.assessments import alerting, links, service
from ketacare.features.assessments.models import Source
from ketacare.features.assessments.notify import notifier_from_settings
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
from ketacare.features.audit.service import record
from ketacare.features.auth.deps import ApiStaff
from ketacare.features.auth.models import User
from ketacare.features.patients.deps import ApiPatient

router = APIRouter(prefix="/api/v1", tags=["assessments"])
P = "/patients/{patient_id}"


def _actor(request: Request, user: User) -> service.Actor:
    return service.Actor(user, "api", client_ip(request))


@router.get(P + "/schedules", response_model=list[ScheduleOut])
def list_schedules(patient: ApiPatient, db: DbDep) -> list[ScheduleOut]:
    """The patient's assessment schedules."""
    return [ScheduleOut.model_validate(s) for s in links.list_schedules(db, patient.id)]


@router.post(P + "/schedules", response_model=ScheduleOut, status_code=201)
def create_schedule(
    body: ScheduleCreate,
    request: Request,
    patient: ApiPatient,
    user: ApiStaff,
    db: DbDep,
    settings: SettingsDep,
    tasks: BackgroundTasks,
) -> ScheduleOut:
    """Create a schedule; links already due are created now and sent after the commit."""
    data = links.ScheduleInput(
        body.instrument,
        body.recurrence.value,
        body.start_date.isoformat(),
        body.interval_weeks,
        body.until_date.isoformat() if body.until_date else "",
    )
    row = links.create_schedule(db, patient, data, user.id)
    service.audit(db, _actor(request, user), "create", "assessment_schedule", row.id, patient.id)
    outgoing = links.dispatch_due(db, settings, utcnow(), [row.id])
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
    request: Request,
    patient: ApiPatient,
    user: ApiStaff,
    db: DbDep,
) -> ScheduleOut:
    """Change the end date (null: no end) or stop the schedule."""
    row = links.get_schedule(db, patient.id, schedule_id)
    if "until_date" in body.model_fields_set:
        if body.until_date is not None and body.until_date < row.start_date:
            raise BadRequest("must not be before the start date", "until_date")
        row.until_date = body.until_date
    if body.active is False:
        links.stop_schedule(db, row, utcnow())
    db.flush()
    service.audit(db, _actor(request, user), "update", "assessment_schedule", row.id, patient.id)
    return ScheduleOut.model_validate(row)


@router.delete(P + "/schedules/{schedule_id}", status_code=204)
def delete_schedule(
    schedule_id: RowId, request: Request, patient: ApiPatient, user: ApiStaff, db: DbDep
) -> Response:
    """Stop the schedule (kept for the record); its unanswered links stop working."""
    row = links.get_schedule(db, patient.id, schedule_id)
    links.stop_schedule(db, row, utcnow())
    service.audit(db, _actor(request, user), "delete", "assessment_schedule", row.id, patient.id)
    return Response(status_code=204)


@router.get(P + "/assessments", response_model=list[AssessmentOut])
def list_assessments(
    request: Request, patient: ApiPatient, user: ApiStaff, db: DbDep, instrument: str = ""
) -> list[AssessmentOut]:
    """The patient's assessments, oldest first (optionally one instrument)."""
    rows = service.list_assessments(db, patient.id, instrument or None)
    service.audit(db, _actor(request, user), "list", "assessment", "", patient.id)
    return [AssessmentOut.model_validate(r) for r in rows]


@router.post(
    P + "/assessments",
    response_model=AssessmentOut,
    status_code=201,
    responses={200: {"model": AssessmentOut, "description": "Stored earlier under this key."}},
)
def create_assessment(
    body: AssessmentCreate,
    request: Request,
    patient: ApiPatient,
    user: ApiStaff,
    db: DbDep,
    settings: SettingsDep,
    idempotency_key: Annotated[str | None, Header(max_length=100)] = None,
) -> Response:
    """Score and store an assessment and raise its alerts (422 names the bad item)."""
    row, alerts, created = service.store_assessment(
        db,
        patient,
        body.instrument,
        body.answers,
        Source(body.source),
        _actor(request, user),
        body.completed_at,
        idempotency_key,
        settings.outcome_baseline,
    )
    if not created:
        alerts = [a for a, _ in alerting.list_alerts(db, patient.clinic_id, "", patient.id)]
        alerts = [a for a in alerts if a.assessment_id == row.id]
    out = AssessmentOut.model_validate(row)
    out.alerts = [AlertOut.model_validate(a) for a in alerts]
    return JSONResponse(out.model_dump(mode="json"), status_code=201 if created else 200)


@router.get("/alerts", response_model=list[AlertOut])
def list_alerts(
    request: Request,
    user: ApiStaff,
    db: DbDep,
    status: str = "",
    patient_id: OptionalRowIdQuery = None,
) -> list[AlertOut]:
    """Alerts of the clinic, open first (``status=open`` for the work queue)."""
    rows = alerting.list_alerts(db, user.clinic_id, status, patient_id)
    seen = [a.patient_id for a, _ in rows]
    record(db, user, "list", "alert", channel="api", client=client_ip(request), patients=seen)
    return [AlertOut.model_validate(a) for a, _ in rows]


@router.post("/alerts/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge(
    alert_id: RowId, body: AcknowledgeBody, request: Request, user: ApiStaff, db: DbDep
) -> AlertOut:
    """Acknowledge an open alert with a note (who and when are recorded)."""
    alert = alerting.acknowledge(db, _actor(request, user), alert_id, body.note, utcnow())
    return AlertOut.model_validate(alert)


@router.get("/overdue", response_model=list[OverdueOut])
def overdue(request: Request, user: ApiStaff, db: DbDep, days: DaysQuery = 90) -> list[OverdueOut]:
    """Assessments due and not completed in the last ``days`` days, oldest first."""
    rows = links.overdue(db, user.clinic_id, utcnow(), max(1, min(days, 3650)))
    seen = [r.patient_id for r in rows]
    record(db, user, "list", "overdue", channel="api", client=client_ip(request), patients=seen)
    return [OverdueOut.model_validate(r) for r in rows]
