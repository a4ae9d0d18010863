"""Session charting JSON API (staff bearer tokens, clinic-scoped; every call audited).

One endpoint per step: create, pre-dose checklist, BP decision, dose, vitals, scales, adverse
events, discharge check/sign-off/discharge, REMS form, sign, amendments, REMS export and the
forms-due list. Bad input is a 422 naming the field with nothing stored; a write to a signed
session is a 409.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse, Response

from ketacare.features.patients.deps import ApiPatient
from ketacare.features.sessions import closing, idempotency, rems_forms, steps
from ketacare.features.sessions.context import ApiCtx, ApiSession
from ketacare.features.sessions.models import TreatmentSession
from ketacare.features.sessions.schemas import (
    AdverseEventIn,
    AmendmentIn,
    ChecklistIn,
    DecisionIn,
    DischargeOut,
    DoseIn,
    ReasonOut,
    RemsIn,
    ScaleIn,
    SessionCreate,
    VitalsIn,
)
from ketacare.features.sessions.views import session_dict, state_dict

router = APIRouter(prefix="/api/v1", tags=["sessions"])


C = ApiCtx
State = dict[str, Any]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Retry-safe: a repeated key returns the first result, nothing stored twice.",
    ),
]


def _state(c: steps.Ctx, s: TreatmentSession) -> State:
    return state_dict(c.state(s))


def _refused(exc: closing.Refused) -> JSONResponse:
    detail = [
        {
            "field": exc.field or "",
            "reason": r.text,
            "rule_id": r.rule_id,
            "source": r.source,
            "detail": r.detail,
        }
        for r in exc.reasons
    ]
    return JSONResponse({"detail": detail}, status_code=422)


@router.post("/patients/{patient_id}/sessions", status_code=201)
def create_session(body: SessionCreate, patient: ApiPatient, c: C) -> State:
    """Start charting a planned session of the patient's active treatment plan."""
    return _state(c, steps.create(c, patient, body))


@router.get("/patients/{patient_id}/sessions")
def list_sessions(patient: ApiPatient, c: C) -> list[dict[str, Any]]:
    """The patient's charted sessions, newest first."""
    return [session_dict(s) for s in steps.list_sessions(c, patient.id)]


@router.get("/sessions/{session_id}")
def read_session(s: ApiSession, c: C) -> State:
    """The session with checklist status, vitals and flags, due reminders and discharge gate."""
    return _state(c, s)


@router.put("/sessions/{session_id}/checklist")
def save_checklist(body: ChecklistIn, s: ApiSession, c: C) -> State:
    """Save the pre-dose checklist (with the pre-dose BP, HR and SpO2); lists what is unmet."""
    steps.checklist(c, s, body)
    return _state(c, s)


@router.post("/sessions/{session_id}/bp-decision")
def bp_decision(body: DecisionIn, s: ApiSession, c: C) -> State:
    """A clinician decides to proceed or defer on a pre-dose BP above the threshold."""
    steps.decide(c, s, body)
    return _state(c, s)


@router.post("/sessions/{session_id}/dose")
def record_dose(body: DoseIn, s: ApiSession, c: C) -> State:
    """Record the dose given; refused (422) until the pre-dose checklist is complete."""
    steps.dose(c, s, body)
    return _state(c, s)


@router.post("/sessions/{session_id}/vitals", status_code=201)
def add_vitals(
    body: VitalsIn, s: ApiSession, c: C, idempotency_key: IdempotencyKey = None
) -> State:
    """Add a reading (BP, HR, SpO2, respiratory rate); flags come back with it."""
    steps.vitals(c, s, body, idempotency.check_key(idempotency_key))
    return _state(c, s)


@router.post("/sessions/{session_id}/scales", status_code=201)
def add_scale(body: ScaleIn, s: ApiSession, c: C, idempotency_key: IdempotencyKey = None) -> State:
    """Add a CADSS-6, CADSS-23 or MOAA/S rating; MOAA/S 0 is recorded as a serious event."""
    steps.scale(c, s, body, idempotency.check_key(idempotency_key))
    return _state(c, s)


@router.post("/sessions/{session_id}/adverse-events", status_code=201)
def add_adverse_event(
    body: AdverseEventIn, s: ApiSession, c: C, idempotency_key: IdempotencyKey = None
) -> State:
    """Add a coded adverse event; a serious one notifies the clinic's clinicians."""
    steps.adverse_event(c, s, body, idempotency.check_key(idempotency_key))
    return _state(c, s)


@router.get("/sessions/{session_id}/discharge", response_model=DischargeOut)
def check_discharge(s: ApiSession, c: C) -> DischargeOut:
    """Which discharge conditions are met and which are still unmet, now."""
    gate = c.state(s).discharge
    return DischargeOut(
        allowed=gate.allowed,
        checked_at=c.now,
        unmet=[ReasonOut(**r.to_dict()) for r in gate.unmet],
        met=[ReasonOut(**r.to_dict()) for r in gate.met],
    )


@router.post("/sessions/{session_id}/discharge-approval")
def approve_discharge(s: ApiSession, c: C) -> State:
    """A clinician signs that the patient is clinically stable to leave."""
    steps.approve(c, s)
    return _state(c, s)


@router.post("/sessions/{session_id}/discharge", response_model=None)
def discharge(s: ApiSession, c: C) -> State | JSONResponse:
    """Discharge the patient; 422 listing every unmet condition (rule id, text, source)."""
    try:
        steps.discharge(c, s)
    except closing.Refused as exc:
        return _refused(exc)
    return _state(c, s)


@router.get("/sessions/{session_id}/rems")
def read_rems(s: ApiSession, c: C) -> dict[str, Any]:
    """The REMS Patient Monitoring Form: every field's value and what is still missing."""
    vals, missing, form = steps.read_rems(c, s)
    return {
        "session_id": s.id,
        "form_version": form.form_version if form else None,
        "deadline": form.deadline.isoformat() if form and form.deadline else None,
        "submitted_at": form.submitted_at.isoformat() if form and form.submitted_at else None,
        "fields": vals,
        "missing": [r.to_dict() for r in missing],
    }


@router.put("/sessions/{session_id}/rems")
def save_rems(body: RemsIn, s: ApiSession, c: C) -> dict[str, Any]:
    """Save typed fields of the REMS form (the rest come from the chart)."""
    steps.save_rems(c, s, body.fields)
    return read_rems(s, c)


@router.post("/sessions/{session_id}/sign", response_model=None)
def sign(s: ApiSession, c: C) -> State | JSONResponse:
    """Sign the discharged session; then it is read-only (esketamine: REMS form complete)."""
    try:
        steps.sign(c, s)
    except closing.Refused as exc:
        return _refused(exc)
    return _state(c, s)


@router.post("/sessions/{session_id}/amendments", status_code=201)
def amend(body: AmendmentIn, s: ApiSession, c: C) -> State:
    """Correct a signed session with a reason; the versions before and after are kept."""
    steps.amend(c, s, body)
    return _state(c, s)


@router.get("/sessions/{session_id}/rems.csv", response_class=Response)
def rems_csv(s: ApiSession, c: C) -> Response:
    """The signed session's REMS form as CSV (field, label, value)."""
    return export(c, s, "csv")


@router.get("/sessions/{session_id}/rems.pdf", response_class=Response)
def rems_pdf(s: ApiSession, c: C) -> Response:
    """The signed session's REMS form as PDF."""
    return export(c, s, "pdf")


def export(c: steps.Ctx, s: TreatmentSession, kind: str) -> Response:
    """The form as a download (audited as an export)."""
    vals = steps.export_rems(c, s)
    name = f"rems-pmf-session-{s.id}.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if kind == "csv":
        return Response(
            rems_forms.to_csv(vals), media_type="text/csv; charset=utf-8", headers=headers
        )
    return Response(rems_forms.to_pdf(vals, s.id), media_type="application/pdf", headers=headers)


@router.post("/sessions/{session_id}/rems/submitted")
def rems_submitted(s: ApiSession, c: C) -> dict[str, Any]:
    """Record that the signed session's form was submitted to the REMS."""
    steps.submit_rems(c, s)
    return read_rems(s, c)


@router.get("/rems/due")
def rems_due(c: C) -> list[dict[str, Any]]:
    """REMS forms not yet submitted, earliest deadline first (status due or overdue)."""
    return [
        {
            "session_id": r.session_id,
            "patient_id": r.patient_id,
            "patient": r.patient_name,
            "treatment_date": r.treatment_date.isoformat() if r.treatment_date else None,
            "deadline": r.deadline.isoformat(),
            "status": r.status,
            "signed": r.signed,
        }
        for r in steps.rems_due(c)
    ]
