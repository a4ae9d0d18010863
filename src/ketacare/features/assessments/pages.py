"""Staff pages: a patient's assessments and schedules, score entry, trajectories and the alert
dashboard (the schedules and links are ``outreach``'s; the overdue list is ``outreach.pages``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import get_instrument, instrument_ids
from ketacare.features._kit import clock
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.dates import check_date
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.errors import BadRequest
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.labels import plural
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import page_tz, render
from ketacare.features.assessments import alerting, service
from ketacare.features.assessments.models import Assessment, Source
from ketacare.features.auth import queries as auth_queries
from ketacare.features.auth.deps import PageActor
from ketacare.features.charts.trajectory import Point, trajectory_svg
from ketacare.features.instruments import texts
from ketacare.features.outreach import queries as outreach_queries
from ketacare.features.outreach import service as outreach
from ketacare.features.outreach.jobs import deliver
from ketacare.features.outreach.notify import notifier_from_settings
from ketacare.features.patients.deps import PagePatient
from ketacare.features.patients.models import Patient

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)
SCHEDULE_FIELDS = ("instrument_id", "recurrence", "start_date", "interval_weeks", "until_date")


#: What each delivery state means, as staff read it ("printed to log" is not "sent").
DELIVERY_LABELS = {
    "pending": "not sent yet",
    "sent": "sent by mail",
    "logged": "not sent: only noted in the server log (use New link to copy it)",
    "shown": "shown to staff (copied by hand)",
    "failed": "mail failed",
    "missed": "not sent (already expired when due)",
}


def _instruments(db: DbDep, clinic_id: int) -> dict[str, list[Any]]:
    all_ = texts.clinic_instruments(db, clinic_id)
    return {"linkable": [i for i in all_ if texts.linkable(i)], "all": all_}


def _assessments_page(
    request: Request,
    db: DbDep,
    patient: Patient,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
    shown: tuple[int, str] | None = None,
    *,
    now: datetime,
    rows: list[Assessment] | None = None,
) -> Response:
    if rows is None:
        rows = service.list_assessments(db, patient.id)
    ctx = {
        "shown": shown,
        "delivery_labels": DELIVERY_LABELS,
        "patient": patient,
        "assessments": list(reversed(rows)),
        "schedules": outreach_queries.list_schedules(db, patient.id),
        "links": outreach_queries.pending_links(db, patient.id),
        "instruments": _instruments(db, patient.clinic_id),
        "values": values or {"recurrence": "weekly", "interval_weeks": "2"},
        "errors": errors or {},
        "now": now,
        "get_instrument": get_instrument,
    }
    return render(request, "assessments/patient.html", ctx, status_code=status_code)


@router.get("/patients/{patient_id}/assessments", response_class=HTMLResponse)
def assessments_page(
    request: Request, patient: PagePatient, actor: PageActor, db: DbDep, now: NowDep
) -> Response:
    """The patient's scores, schedules and outreach."""
    rows = service.patient_assessments(db, actor, patient.id)
    return _assessments_page(request, db, patient, now=now, rows=rows)


@router.post("/patients/{patient_id}/schedules", response_class=HTMLResponse)
def create_schedule(
    request: Request,
    form: FormFields,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    settings: SettingsDep,
    tasks: BackgroundTasks,
    now: NowDep,
) -> Response:
    """Create a schedule; links already due are created now and sent after the commit."""
    values = {k: form.get(k, "").strip() for k in SCHEDULE_FIELDS}
    try:
        weeks = int(values["interval_weeks"] or "1")
    except ValueError:
        return _assessments_page(
            request, db, patient, values, {"interval_weeks": "must be a whole number"}, 422,
            now=now,
        )  # fmt: skip
    data = outreach.ScheduleInput(
        values["instrument_id"], values["recurrence"], values["start_date"], weeks,
        values["until_date"],
    )  # fmt: skip
    try:
        row = outreach.add_schedule(db, actor, patient, data)
    except BadRequest as exc:
        errors = {exc.field or "form": exc.reason}
        return _assessments_page(request, db, patient, values, errors, 422, now=now)
    outgoing = outreach.dispatch_due(db, settings, now, [row.id])
    tasks.add_task(
        deliver, request.app.state.sessions, settings, notifier_from_settings(settings), outgoing
    )
    return RedirectResponse(f"/patients/{patient.id}/assessments", status_code=303)


@router.post("/patients/{patient_id}/links/{invitation_id}/resend", response_class=HTMLResponse)
def resend_link(
    invitation_id: RowId,
    request: Request,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    settings: SettingsDep,
    tasks: BackgroundTasks,
    now: NowDep,
) -> Response:
    """Make a fresh link (the old one stops working), show it to staff to copy, and send it."""
    inv = outreach.get_invitation(db, patient.id, invitation_id)
    try:
        out = outreach.resend(db, actor, settings, inv, now)
    except outreach.LinkGone as exc:
        return _assessments_page(request, db, patient, errors={"link": exc.reason},
                                 status_code=409, now=now)  # fmt: skip
    notifier = notifier_from_settings(settings)
    if notifier.delivered_as == "sent":  # a console notifier would only print it: staff have it
        tasks.add_task(deliver, request.app.state.sessions, settings, notifier, [out])
    return _assessments_page(request, db, patient, shown=(inv.id, out.url), now=now)


@router.post("/patients/{patient_id}/schedules/{schedule_id}/stop", response_class=HTMLResponse)
def stop_schedule(
    schedule_id: RowId, patient: PagePatient, actor: PageActor, db: DbDep, now: NowDep
) -> Response:
    """Stop a schedule; its unanswered links stop working."""
    row = outreach.get_schedule(db, patient.id, schedule_id)
    outreach.change_schedule(db, actor, row, now, stop=True)
    return RedirectResponse(f"/patients/{patient.id}/assessments", status_code=303)


def _entry_page(
    request: Request,
    db: DbDep,
    patient: Patient,
    instrument_id: str,
    answers: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    inst = texts.clinic_instrument(db, patient.clinic_id, instrument_id)
    ctx = {
        "patient": patient,
        "inst": inst,
        "clinic_text": any(item.text for item in inst.items),
        "answers": answers,
        "errors": errors,
        "completed_at": answers.get("completed_at", ""),
    }
    return render(request, "assessments/enter.html", ctx, status_code=status_code)


@router.get("/patients/{patient_id}/assessments/new", response_class=HTMLResponse)
def entry_form(
    request: Request, patient: PagePatient, db: DbDep, instrument: str = "madrs"
) -> Response:
    """Blank score-entry form for a rater (item labels only where the text is neither shipped
    nor loaded by the clinic)."""
    return _entry_page(request, db, patient, instrument, {}, {})


@router.post("/patients/{patient_id}/assessments/new", response_class=HTMLResponse)
def enter_scores(
    request: Request,
    form: FormFields,
    patient: PagePatient,
    actor: PageActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """Score and store clinician-entered answers, or show the form again naming the item."""
    iid = form.get("instrument", "")
    inst = texts.instrument(iid)
    kept = {k: v for k, v in form.items() if k.startswith("item_") or k == "completed_at"}
    try:
        answers = service.parse_form_answers(inst, form)
        missing = service.missing_errors(inst, answers)
        if missing:  # name every unanswered item, as the self-screen does
            return _entry_page(request, db, patient, inst.id, kept, missing, 422)
        when = None
        if form.get("completed_at", "").strip():
            when = _local_time(form["completed_at"], page_tz(request))
        service.store_assessment(
            db, patient, inst.id, answers, Source.clinician, actor, when,
            form.get("idempotency_key") or None, settings.outcome_baseline, now=now,
        )  # fmt: skip
    except (BadRequest, InvalidAnswer) as exc:
        field = exc.field or "form"
        key = field.split(".", 1)[1] if field.startswith(inst.id + ".") else field
        return _entry_page(request, db, patient, inst.id, kept, {key: exc.reason}, 422)
    return RedirectResponse(f"/patients/{patient.id}/assessments", status_code=303)


def _local_time(raw: str, tz: str) -> datetime:
    """A ``datetime-local`` form value, read as the clinic's local time (stored UTC)."""
    try:
        return check_date(clock.parse_local(raw, tz), "completed_at")
    except clock.TimeError as exc:
        raise BadRequest(str(exc), "completed_at") from None


@router.get("/patients/{patient_id}/trajectories", response_class=HTMLResponse)
def trajectories(request: Request, patient: PagePatient, actor: PageActor, db: DbDep) -> Response:
    """Each instrument's totals over time, severity bands shaded, sessions marked."""
    by_instrument: dict[str, list[Point]] = {}
    band_set: dict[str, str | None] = {}
    for row in service.patient_totals(db, actor, patient.id, view="trajectories"):
        if row.total is None:
            continue
        by_instrument.setdefault(row.instrument_id, []).append(
            Point(row.completed_at, row.total, row.band)
        )
        band_set[row.instrument_id] = row.band_set
    sessions = outreach_queries.planned_sessions(db, patient.id)
    charts = []
    for iid in [i for i in instrument_ids() if i in by_instrument]:
        inst = get_instrument(iid)
        chosen = band_set[iid] or inst.default_band_set
        bands = inst.band_sets[chosen].bands if chosen and chosen in inst.band_sets else inst.bands
        assert inst.range is not None
        svg = trajectory_svg(
            f"{inst.short_name} totals over time, {plural(len(by_instrument[iid]), 'assessment')}",
            by_instrument[iid], bands, inst.range, sessions, page_tz(request),
        )  # fmt: skip
        charts.append({"inst": inst, "svg": svg, "points": by_instrument[iid]})
    ctx = {"patient": patient, "charts": charts, "sessions": sessions}
    return render(request, "assessments/trajectories.html", ctx)


@router.get("/alerts", response_class=HTMLResponse)
def alerts_page(request: Request, actor: PageActor, db: DbDep) -> Response:
    """Open alerts first (most urgent, oldest), then recently acknowledged ones."""
    rows = alerting.alerts_for(db, actor)
    who = auth_queries.user_emails(
        db, (a.acknowledged_by_id for a, _ in rows if a.acknowledged_by_id)
    )
    ctx = {
        "open": [(a, p) for a, p in rows if a.status.value == "open"],
        "done": [(a, p) for a, p in rows if a.status.value != "open"][:50],
        "who": who,
        "errors": {},
    }
    return render(request, "assessments/alerts.html", ctx)


@router.post("/alerts/{alert_id}/acknowledge", response_class=HTMLResponse)
def acknowledge(
    alert_id: RowId, request: Request, form: FormFields, actor: PageActor, db: DbDep, now: NowDep
) -> Response:
    """Acknowledge with a note; without a note the dashboard comes back with the problem."""
    try:
        alerting.acknowledge(db, actor, alert_id, form.get("note", ""), now)
    except BadRequest as exc:
        assert actor.user is not None
        rows = alerting.list_alerts(db, actor.user.clinic_id)
        ctx = {
            "open": [(a, p) for a, p in rows if a.status.value == "open"],
            "done": [(a, p) for a, p in rows if a.status.value != "open"][:50],
            "who": {},
            "errors": {alert_id: exc.reason},
        }
        return render(request, "assessments/alerts.html", ctx, status_code=422)
    return RedirectResponse("/alerts", status_code=303)
