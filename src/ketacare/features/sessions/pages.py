"""Session pages: the patient's sessions, the tablet session page (each step posts a form;
``static/sessions.js`` sends it with fetch() and swaps the live part, so no reload), the REMS
downloads and the Today page (sessions, REMS forms due, the user's notifications)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from sqlalchemy import select

from ketacare.domain.rems import PMF_FIELDS
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, SettingsDep, client_ip
from ketacare.features._kit.errors import KetacareError
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.templating import render
from ketacare.features.audit.service import record
from ketacare.features.auth.deps import PageStaff
from ketacare.features.intake.models import TreatmentPlan
from ketacare.features.patients.deps import PagePatient
from ketacare.features.patients.models import Patient
from ketacare.features.sessions import api, chart, closing, rems_forms, steps
from ketacare.features.sessions.charting import notifications_for
from ketacare.features.sessions.context import Config, Now, PageSession
from ketacare.features.sessions.forms import parse
from ketacare.features.sessions.models import TreatmentSession
from ketacare.features.sessions.schemas import (
    AdverseEventIn,
    AmendmentIn,
    ChecklistIn,
    DecisionIn,
    DoseIn,
    RemsIn,
    ScaleIn,
    SessionCreate,
    VitalsIn,
)
from ketacare.features.sessions.views import state_dict

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


async def page_ctx(
    request: Request, db: DbDep, user: PageStaff, settings: SettingsDep, cfg: Config, now: Now
) -> steps.Ctx:
    """The step context of a page request."""
    return steps.Ctx(request, db, user, settings, cfg, now, "page")


C = Annotated[steps.Ctx, Depends(page_ctx)]


def session_page(
    c: steps.Ctx, s: TreatmentSession, errors: list[dict[str, str]] | None = None, status: int = 200
) -> Response:
    """Render the session page (with errors of a refused step)."""
    st = c.state(s)
    plan = c.db.execute(select(TreatmentPlan).where(TreatmentPlan.id == s.plan_id)).scalar_one()
    svg = chart.chart_svg(
        s, [v for v, _ in st.vitals], chart.predicted(s, plan.weight_kg, plan.age_years)
    )
    rems: dict[str, Any] | None = None
    if s.route == "esketamine":
        vals, missing = steps.rems_values(c, s)
        rems = {"values": vals, "missing": missing, "form": closing.rems_form(c.db, s)}
    ctx = {
        "st": st,
        "s": s,
        "patient": st.patient,
        "data": state_dict(st),
        "chart": svg,
        "rems": rems,
        "rems_fields": PMF_FIELDS,
        "errors": errors or [],
        "since_dose": (
            int((c.now - (s.last_device_at or s.dose_start)).total_seconds() // 60)
            if s.dose_start
            else None
        ),
        "timedelta": timedelta,
    }
    return render(c.request, "sessions/session.html", ctx, status_code=status)


def _run(
    c: steps.Ctx,
    s: TreatmentSession,
    form: dict[str, str],
    schema: type[BaseModel] | None,
    action: Callable[[Any], object],
) -> Response:
    info = dict(c.db.info)  # a savepoint rollback drops the queued audit events: keep them
    try:
        body = parse(schema, form, c.now) if schema is not None else None
        with c.db.begin_nested():
            action(body)
    except (ValidationError, KetacareError):
        for key, value in info.items():
            c.db.info.setdefault(key, value)
        raise
    return RedirectResponse(f"/sessions/{s.id}", status_code=303)


def run_step(
    c: steps.Ctx,
    s: TreatmentSession,
    form: dict[str, str],
    schema: type[BaseModel] | None,
    action: Callable[[Any], object],
) -> Response:
    """Parse the form, run the step in a savepoint; 303 back, or the page with the problems."""
    try:
        return _run(c, s, form, schema, action)
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()
        ]
        return session_page(c, s, errors, 422)
    except closing.Refused as exc:
        errors = [{"field": r.rule_id, "reason": r.text, "detail": r.detail} for r in exc.reasons]
        return session_page(c, s, errors, 422)
    except KetacareError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        return session_page(
            c, s, [{"field": exc.field or "", "reason": exc.reason}], exc.status_code
        )
    return RedirectResponse(f"/sessions/{s.id}", status_code=303)


@router.get("/patients/{patient_id}/sessions", response_class=HTMLResponse)
def sessions_page(patient: PagePatient, c: C) -> Response:
    """The patient's sessions and a button to start the next planned one."""
    rows = list(
        c.db.execute(
            select(TreatmentSession)
            .where(TreatmentSession.patient_id == patient.id)
            .order_by(TreatmentSession.id.desc())
        ).scalars()
    )
    c.audit("list", "treatment_session", "", patient.id)
    return render(
        c.request, "sessions/list.html", {"patient": patient, "sessions": rows, "errors": []}
    )


@router.post("/patients/{patient_id}/sessions", response_class=HTMLResponse)
def start_session(patient: PagePatient, c: C, form: FormFields) -> Response:
    """Start charting the next planned session (or the one chosen)."""
    try:
        body = parse(SessionCreate, form, c.now)
        with c.db.begin_nested():
            s = steps.create(c, patient, body)  # type: ignore[arg-type]
    except (ValidationError, KetacareError) as exc:
        if isinstance(exc, KetacareError):
            errors = [{"field": exc.field or "", "reason": exc.reason}]
        else:
            errors = [{"field": str(e["loc"][0]), "reason": e["msg"]} for e in exc.errors()]
        ctx = {"patient": patient, "sessions": [], "errors": errors}
        return render(c.request, "sessions/list.html", ctx, status_code=422)
    return RedirectResponse(f"/sessions/{s.id}", status_code=303)


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def show_session(s: PageSession, c: C) -> Response:
    """The session page."""
    return session_page(c, s)


STEPS: dict[str, tuple[type[BaseModel] | None, Callable[..., object]]] = {
    "checklist": (ChecklistIn, steps.checklist),
    "bp-decision": (DecisionIn, steps.decide),
    "dose": (DoseIn, steps.dose),
    "vitals": (VitalsIn, steps.vitals),
    "scales": (ScaleIn, steps.scale),
    "adverse-events": (AdverseEventIn, steps.adverse_event),
    "discharge-approval": (None, lambda c, s, _b: steps.approve(c, s)),
    "discharge": (None, lambda c, s, _b: steps.discharge(c, s)),
    "rems": (RemsIn, lambda c, s, b: steps.save_rems(c, s, b.fields)),
    "sign": (None, lambda c, s, _b: steps.sign(c, s)),
    "amendments": (AmendmentIn, steps.amend),
}


def _step_route(name: str) -> None:
    schema, fn = STEPS[name]

    def handler(s: PageSession, c: C, form: FormFields) -> Response:
        return run_step(c, s, form, schema, lambda body: fn(c, s, body))

    handler.__name__ = f"post_{name.replace('-', '_')}"
    handler.__doc__ = f"Session step: {name}."
    router.add_api_route(
        f"/sessions/{{session_id}}/{name}", handler, methods=["POST"], response_class=HTMLResponse
    )


for _name in STEPS:
    _step_route(_name)


@router.get("/sessions/{session_id}/rems.csv", response_class=Response)
def rems_csv(s: PageSession, c: C) -> Response:
    """Download the REMS form as CSV."""
    return api.export(c, s, "csv")


@router.get("/sessions/{session_id}/rems.pdf", response_class=Response)
def rems_pdf(s: PageSession, c: C) -> Response:
    """Download the REMS form as PDF."""
    return api.export(c, s, "pdf")


@router.get("/today", response_class=HTMLResponse)
def today(c: C) -> Response:
    """Today's sessions, REMS forms due, and the user's notifications."""
    start = c.now.replace(hour=0, minute=0, second=0, microsecond=0)
    rows = c.db.execute(
        select(TreatmentSession, Patient)
        .join(Patient, Patient.id == TreatmentSession.patient_id)
        .where(TreatmentSession.clinic_id == c.user.clinic_id, TreatmentSession.created_at >= start)
        .order_by(TreatmentSession.id)
    ).all()
    due = rems_forms.forms_due(c.db, c.user.clinic_id, c.now.date())
    notes = notifications_for(c.db, c.user)
    seen = [p.id for _s, p in rows] + [d.patient_id for d in due]
    record(c.db, c.user, "list", "treatment_session", "today", client=client_ip(c.request),
           patients=seen)  # fmt: skip
    ctx = {"rows": rows, "due": due, "notifications": notes, "now": c.now}
    return render(c.request, "sessions/today.html", ctx)
