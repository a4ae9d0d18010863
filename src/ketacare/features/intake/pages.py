"""Intake form, assessment summary and treatment plan pages (staff of the patient's clinic)."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from ketacare.domain.course.scheduling import WEEKDAY_NAMES
from ketacare.domain.intake.verdict import assess_intake, verdict_to_dict
from ketacare.features._kit import clock
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.errors import BadRequest
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.params import OptionalRowIdQuery
from ketacare.features._kit.templating import page_tz, render
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import PageActor
from ketacare.features.intake import form as intake_form
from ketacare.features.intake import plans, service
from ketacare.features.intake.api import ics_response, saved_hook
from ketacare.features.intake.models import PlannedSession, TreatmentPlan
from ketacare.features.patients.deps import PagePatient
from ketacare.features.patients.models import Patient
from ketacare.features.pk import plan as planpk

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
ELIGIBILITY_KEY = {"ketamine": "iv_ketamine", "esketamine": "esketamine"}


def _intake_page(
    request: Request,
    db: DbDep,
    patient: Patient,
    values: dict[str, str],
    errors: dict[str, str],
    shown: int | None,
    status_code: int = 200,
) -> Response:
    versions = service.intake_versions(db, patient.id)
    ctx = {
        "patient": patient,
        "sections": intake_form.SECTIONS,
        "trial_fields": intake_form.TRIAL_FIELDS,
        "trials_name": intake_form.TRIALS,
        "rows": intake_form.trial_rows(values),
        "values": values,
        "errors": errors,
        "versions": versions,
        "shown": shown,
    }
    return render(request, "intake/form.html", ctx, status_code=status_code)


@router.get("/patients/{patient_id}/intake", response_class=HTMLResponse)
def intake_page(
    request: Request,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    version: OptionalRowIdQuery = None,
) -> Response:
    """The intake form, filled with the current version (or ``?version=N``)."""
    rec = service.open_intake(db, actor, patient.id, version, required=False)
    if rec is not None:
        values = intake_form.document_to_values(rec.document)
    else:
        values = {"demographics.sex": patient.sex.value if patient.sex.value != "unknown" else ""}
        age = patient.age_on(clock.local_date(now, page_tz(request)) or now.date())
        values["demographics.age_years"] = "" if age is None else str(age)
    return _intake_page(request, db, patient, values, {}, rec.version if rec else None)


@router.post("/patients/{patient_id}/intake", response_class=HTMLResponse)
def save_intake(
    request: Request,
    form: FormFields,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """Save a new intake version, or show the form again with the problems."""
    doc, problems, rows = intake_form.form_to_document(form)
    if not problems:
        try:
            comment = form.get("comment", "")
            hook = saved_hook(request)
            service.record_intake(db, actor, patient, doc, comment, now, settings, hook)
        except BadRequest as exc:
            problems = {intake_form.form_field(exc.field or "form", rows): exc.reason}
        else:
            return RedirectResponse(f"/patients/{patient.id}/assessment", status_code=303)
    return _intake_page(request, db, patient, dict(form), problems, None, status_code=422)


@router.get("/patients/{patient_id}/assessment", response_class=HTMLResponse)
def assessment_page(
    request: Request, patient: PagePatient, actor: PageActor, db: DbDep, settings: SettingsDep
) -> Response:
    """DSM-5 criteria, TRD staging, eligibility and pathway, each with its reasons."""
    rec = service.open_assessment(db, actor, patient.id, required=False)
    result: dict[str, Any] | None = None
    if rec is not None:
        config = service.rules_config(settings)
        result = verdict_to_dict(assess_intake(service.intake_of(rec), config))
    ctx = {"patient": patient, "intake": rec, "a": result}
    return render(request, "intake/assessment.html", ctx)


def month_grids(sessions: list[PlannedSession]) -> list[dict[str, Any]]:
    """Month calendars (Monday first) covering the sessions, with session numbers per day."""
    if not sessions:
        return []
    by_day: dict[date, list[int]] = {}
    for s in sessions:
        by_day.setdefault(s.day, []).append(s.number)
    cal = calendar.Calendar(firstweekday=0)
    out = []
    y, m = sessions[0].day.year, sessions[0].day.month
    last = (sessions[-1].day.year, sessions[-1].day.month)
    while (y, m) <= last:
        weeks = [
            [{"day": d, "in_month": d.month == m, "sessions": by_day.get(d, [])} for d in week]
            for week in cal.monthdatescalendar(y, m)
        ]
        out.append({"title": date(y, m, 1).strftime("%B %Y"), "weeks": weeks})
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def _plan_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    patient: Patient,
    model: str | None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    confirm: dict[str, Any] | None = None,
    *,
    now: datetime,
) -> Response:
    rec = service.current_intake(db, patient.id)
    plan = plans.shown_plan(db, actor, patient.id)
    sessions = plans.sessions_of(db, plan.id) if plan else []
    ctx: dict[str, Any] = {"patient": patient, "intake": rec, "plan": plan, "sessions": sessions}
    if plan is not None:
        ctx["months"] = month_grids(sessions)
        ctx["models"] = planpk.compatible_models(plan.drug, plan.route)
        try:
            pk = planpk.audited_plan_pk(db, actor, plan, sessions, model)
        except BadRequest as exc:
            ctx["pk_error"] = f"{exc.field}: {exc.reason}"
        else:
            ctx["pk"] = pk
            ctx["pk_svg"] = Markup(planpk.chart_svg(pk, sessions))  # our own SVG, sanitised
        if rec is not None:
            a = assess_intake(
                service.intake_of(rec), service.rules_config(request.app.state.settings)
            )
            key = ELIGIBILITY_KEY.get(plan.drug)
            ctx["eligibility"] = getattr(a, key).status if key else None
    today = clock.local_date(now, page_tz(request)) or now.date()
    start = today + timedelta(days=(7 - today.weekday()) % 7 or 7)  # next Monday
    defaults = {"start_date": start.isoformat(), "protocol_id": "iv-ketamine-induction"}
    defaults.update({f"weekday_{d}": "on" for d in plans.DEFAULT_WEEKDAYS})
    ctx.update(
        {
            "protocols": plans.protocols(),
            "weekday_names": WEEKDAY_NAMES,
            "history": plans.plan_history(db, patient.id),
            "values": values if values is not None else defaults,
            "errors": errors or {},
            "disclaimer": planpk.DISCLAIMER,
            "confirm": confirm,
        }
    )
    return render(request, "intake/plan.html", ctx, status_code=status_code)


@router.get("/patients/{patient_id}/plan", response_class=HTMLResponse)
def plan_page(
    request: Request,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
    model: str | None = None,
) -> Response:
    """The active plan: calendar, planned doses, PK chart; and the form for a new plan."""
    return _plan_page(request, db, actor, patient, model, now=now)


def _confirmation(
    db: DbDep,
    patient: Patient,
    data: plans.PlanInput,
    planned: list[PlannedSession],
    current: TreatmentPlan | None,
) -> dict[str, Any]:
    """What the clinician confirms: the course, the plan it replaces, and eligibility."""
    drug = plans.protocols()[data.protocol_id.strip()].drug
    warnings: list[dict[str, str]] = []
    if current is not None:
        warnings.append(
            {
                "rule_id": "plan.replaces",
                "text": f"This replaces the active plan {current.protocol_id} from "
                f"{current.start_date} (kept as superseded).",
                "source": "ketacare",
            }
        )
    rec = service.current_intake(db, patient.id)
    status = ""
    if rec is not None:
        key = ELIGIBILITY_KEY.get(drug)
        if key is not None:
            result = getattr(assess_intake(service.intake_of(rec)), key)
            status = result.status
            if status != "eligible":
                warnings.extend(
                    {"rule_id": r.rule_id, "text": r.text, "source": r.source}
                    for r in result.reasons
                )
    return {
        "eligibility": status,
        "warnings": warnings,
        "sessions": [
            {"number": p.number, "day": p.day.isoformat(), "dose": p.dose_label} for p in planned
        ],
        "weekdays": ", ".join(data.weekdays),
    }


@router.post("/patients/{patient_id}/plan", response_class=HTMLResponse)
def create_plan(
    request: Request,
    form: FormFields,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    now: NowDep,
) -> Response:
    """Create a plan from the current intake after the clinician confirmed it (the first post
    shows the course, the plan it replaces and any eligibility short of ``eligible`` with its
    reasons; ``confirmed=yes`` creates it), or show the form again with the problem."""
    data = plans.PlanInput(
        protocol_id=form.get("protocol_id", ""),
        start_date=form.get("start_date", ""),
        weekdays=[d for d in WEEKDAY_NAMES if form.get(f"weekday_{d}")],
        variant=form.get("variant", ""),
        esketamine_dose_mg=form.get("esketamine_dose_mg", ""),
    )
    try:
        if form.get("confirmed") != "yes":
            current = plans.current_plan(db, patient.id)
            confirm = plans.preview_plan(
                db, actor, patient, data,
                lambda draft: _confirmation(
                    db, patient, data, plans.sessions_of(db, draft.id), current
                ),
            )  # fmt: skip
            values = {k: v for k, v in form.items() if k not in ("csrf_token", "confirmed")}
            return _plan_page(
                request, db, actor, patient, None, values, None, 200, confirm, now=now
            )
        plans.make_plan(db, actor, patient, data)
    except BadRequest as exc:
        errors = {exc.field or "form": exc.reason}
        return _plan_page(request, db, actor, patient, None, dict(form), errors, 422, now=now)
    return RedirectResponse(f"/patients/{patient.id}/plan", status_code=303)


@router.get("/patients/{patient_id}/plan.ics")
def plan_calendar(request: Request, patient: PagePatient, actor: PageActor, db: DbDep) -> Response:
    """Download the active plan as an iCalendar file."""
    plan = plans.open_plan(db, actor, patient.id, "export")
    return ics_response(request, plan, plans.sessions_of(db, plan.id))
