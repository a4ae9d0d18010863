"""Measurement-based care JSON API (staff bearer tokens, clinic-scoped)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response
from fastapi.responses import JSONResponse

from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.params import OptionalRowIdQuery, RowId
from ketacare.features.assessments import alerting, service
from ketacare.features.assessments.models import Source
from ketacare.features.assessments.schemas import (
    AcknowledgeBody,
    AlertOut,
    AssessmentCreate,
    AssessmentOut,
)
from ketacare.features.auth.deps import ApiActor
from ketacare.features.patients.deps import ApiPatient

router = APIRouter(prefix="/api/v1", tags=["assessments"])
P = "/patients/{patient_id}"


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
