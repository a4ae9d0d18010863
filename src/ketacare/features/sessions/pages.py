"""Session pages: the patient's sessions, the tablet session page (each step posts a form;
``static/sessions.js`` sends it with fetch() and swaps the live part, so no reload), the REMS
downloads and the Today page (sessions, REMS forms due, the user's notifications)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError

from ketacare.domain.sessions.rems import PMF_FIELDS
from ketacare.features import registry
from ketacare.features._kit import clock
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.errors import KetacareError
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.templating import page_tz, render
from ketacare.features.intake.plans import current_plan, sessions_of
from ketacare.features.patients.deps import PagePatient
from ketacare.features.patients.service import patient_header
from ketacare.features.sessions import api, chart, closing, idempotency, queries, service, steps
from ketacare.features.sessions.context import PageCtx, PageSession, RefreshCtx, RefreshSession
from ketacare.features.sessions.form_input import parse
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


C = PageCtx


def _countdown(st: Any) -> str:
    return next((r.detail for r in st.discharge.unmet if r.rule_id.endswith(".min_time")), "")


def session_page(
    request: Request,
    c: steps.Ctx,
    s: TreatmentSession,
    errors: list[dict[str, str]] | None = None,
    status: int = 200,
    posted: dict[str, str] | None = None,
) -> Response:
    """Render the session page (with errors of a refused step and the values it posted)."""
    st = c.state(s)
    plan = queries.plan_of(c.db, s)
    svg = chart.chart_svg(
        s, [v for v, _ in st.vitals], chart.predicted(s, plan.weight_kg, plan.age_years)
    )
    rems: dict[str, Any] | None = None
    if s.route == "esketamine":
        vals, missing = steps.rems_values(c, s)
        rems = {"values": vals, "missing": missing, "form": closing.rems_form(c.db, s)}
    # The patient header (templates/patients/_header.html) of every patient page.
    today = clock.local_date(c.now, page_tz(request)) or c.now.date()
    request.state.patient_header = patient_header(c.db, st.patient, today)
    ctx = {
        "st": st,
        "s": s,
        "planned": service.planned_of(c.db, s),
        "link_window": c.settings.session_link_window_days,
        "countdown": _countdown(st),
        "refresh_ms": c.settings.session_refresh_seconds * 1000,
        "idle_ms": int(c.settings.session_idle_minutes * 60_000),
        "patient": st.patient,
        "data": state_dict(st),
        "chart": svg,
        "rems": rems,
        "rems_fields": PMF_FIELDS,
        "errors": errors or [],
        "posted": posted or {},
        "since_dose": minutes_since_dose(s, c.now),
        "timedelta": timedelta,
    }
    # Other features' additions (the booking link's patient-reported answers, issue 17.4).
    ctx.setdefault("patient_reported", [])
    for extra in registry.session_hooks("session_page"):
        ctx.update(extra(c.db, s.id))
    return render(request, "sessions/session.html", ctx, status_code=status)


def run_step(
    request: Request,
    c: steps.Ctx,
    s: TreatmentSession,
    form: dict[str, str],
    schema: type[BaseModel] | None,
    action: Callable[[Any], object],
) -> Response:
    """Parse the form (typed times in the clinic's zone), run the step in a savepoint
    (``steps.attempt``); 303 back, or the page with the problems."""
    try:
        body = parse(schema, form, c.now, clock.zone(c.tz)) if schema is not None else None
        steps.attempt(c, lambda: action(body))
    except ValidationError as exc:
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "reason": e["msg"]} for e in exc.errors()
        ]
        return session_page(request, c, s, errors, 422, form)
    except closing.Refused as exc:
        errors = [{"field": r.rule_id, "reason": r.text, "detail": r.detail} for r in exc.reasons]
        return session_page(request, c, s, errors, 422, form)
    except KetacareError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        problem = [exc.detail()]
        return session_page(request, c, s, problem, exc.status_code, form)
    return RedirectResponse(f"/sessions/{s.id}", status_code=303)


def _list_page(
    request: Request,
    c: steps.Ctx,
    patient: Any,
    rows: list[TreatmentSession],
    errors: list[dict[str, str]] | None = None,
    values: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    plan = current_plan(c.db, patient.id)
    charted = {s.planned_session_id for s in rows}
    planned = (
        [p for p in sessions_of(c.db, plan.id) if p.id not in charted] if plan is not None else []
    )
    today = c.today()
    window = c.settings.session_link_window_days
    ctx = {
        "patient": patient,
        "sessions": rows,
        "errors": errors or [],
        "values": values or {},
        "planned": planned,
        "today": today,
        "matching": [p for p in planned if abs((p.day - today).days) <= window],
        "window": window,
        "open_sessions": [s for s in rows if s.status.value == "open"],
    }
    return render(request, "sessions/list.html", ctx, status_code=status)


@router.get("/patients/{patient_id}/sessions", response_class=HTMLResponse)
def sessions_page(request: Request, patient: PagePatient, c: C) -> Response:
    """The patient's sessions and a button to start the planned one of today (or one chosen)."""
    return _list_page(request, c, patient, steps.list_sessions(c, patient.id))


@router.post("/patients/{patient_id}/sessions", response_class=HTMLResponse)
def start_session(request: Request, patient: PagePatient, c: C, form: FormFields) -> Response:
    """Start charting the planned session of today's date (or the one chosen)."""
    try:
        body = parse(SessionCreate, form, c.now)
        s = steps.attempt(c, lambda: steps.create(c, patient, body))  # type: ignore[arg-type]
    except (ValidationError, KetacareError) as exc:
        status = 422
        if isinstance(exc, KetacareError):
            if exc.status_code in (401, 404):
                raise
            errors = [exc.detail()]
            status = exc.status_code
        else:
            errors = [{"field": str(e["loc"][0]), "reason": e["msg"]} for e in exc.errors()]
        rows = queries.patient_sessions(c.db, patient.id)
        return _list_page(request, c, patient, rows, errors, dict(form), status)
    return RedirectResponse(f"/sessions/{s.id}", status_code=303)


@router.get("/sessions/{session_id}", response_class=HTMLResponse)
def show_session(request: Request, s: PageSession, c: C) -> Response:
    """The session page."""
    return session_page(request, c, s)


def minutes_since_dose(s: TreatmentSession, now: datetime) -> int | None:
    """Whole minutes since the dose (esketamine: the last device) while the patient is still
    being monitored; None before the dose and once discharged (a signed session opened days
    later showed "1188573 min since the dose")."""
    start = s.last_device_at or s.dose_start
    if start is None or s.discharged_at is not None:
        return None
    return int((now - start).total_seconds() // 60)


@router.get("/sessions/{session_id}/live", response_class=HTMLResponse)
def refresh_session(request: Request, s: RefreshSession, c: RefreshCtx) -> Response:
    """The parts of the session page that change with time (reminders, discharge countdown),
    fetched periodically by ``sessions.js``; ``?active=1`` also keeps the login alive."""
    st = c.state(s)
    ctx = {"st": st, "s": s, "data": state_dict(st), "since_dose": minutes_since_dose(s, c.now)}
    ctx["countdown"] = _countdown(st)
    return render(request, "sessions/_live.html", ctx)


STEPS: dict[str, tuple[type[BaseModel] | None, Callable[..., object]]] = {
    "checklist": (ChecklistIn, steps.checklist),
    "bp-decision": (DecisionIn, steps.decide),
    "dose": (DoseIn, steps.dose),
    "vitals": (VitalsIn, steps.vitals),  # these three take the Idempotency-Key too
    "scales": (ScaleIn, steps.scale),
    "adverse-events": (AdverseEventIn, steps.adverse_event),
    "discharge-approval": (None, lambda c, s, _b: steps.approve(c, s)),
    "discharge": (None, lambda c, s, _b: steps.discharge(c, s)),
    "rems": (RemsIn, lambda c, s, b: steps.save_rems(c, s, b.fields)),
    "sign": (None, lambda c, s, _b: steps.sign(c, s)),
    "amendments": (AmendmentIn, steps.amend),
}


KEYED = ("vitals", "scales", "adverse-events")


def _step_route(name: str) -> None:
    schema, fn = STEPS[name]

    keyed = name in KEYED

    def handler(request: Request, s: PageSession, c: C, form: FormFields) -> Response:
        def action(body: Any) -> object:
            if keyed:
                return fn(c, s, body, idempotency.key_of(request.headers))
            return fn(c, s, body)

        return run_step(request, c, s, form, schema, action)

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
def today(request: Request, c: C) -> Response:
    """Today's sessions (the clinic's local day), REMS forms due, and the user's notifications."""
    day = steps.today(c)
    ctx = {"rows": day.rows, "due": day.due, "notifications": day.notifications, "now": c.now}
    return render(request, "sessions/today.html", ctx)
