"""Scheduling pages: sites, the day view per site (chairs x time, buttons), the live chair
board (polls its JSON), a patient's bookings with the course booking form."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ketacare.domain import dates
from ketacare.domain.course.booking import Window
from ketacare.features._kit import clock
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep, in_one_hop
from ketacare.features._kit.errors import BadRequest, Forbidden, KetacareError
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import page_tz, render
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import LivePageDeskActor, PageDeskActor
from ketacare.features.auth.models import Role
from ketacare.features.patients.deps import DeskPagePatient
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling import board, queries, service
from ketacare.features.scheduling.config import scheduling_settings
from ketacare.features.scheduling.models import Booking
from ketacare.settings import Settings

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _cid(actor: Actor) -> int:
    assert actor.clinic_id is not None
    return actor.clinic_id


@router.get("/scheduling", response_class=HTMLResponse)
def sites_page(request: Request, actor: PageDeskActor, db: DbDep, now: NowDep) -> Response:
    """The clinic's sites with links to their day and board."""
    sites = queries.list_sites(db, _cid(actor))
    chairs = {s.id: queries.list_chairs(db, s.id) for s in sites}
    today = clock.local_date(now, page_tz(request))
    return render(
        request, "scheduling/sites.html", {"sites": sites, "chairs": chairs, "today": today}
    )


def _day_param(value: str, request: Request, now: datetime) -> date:
    if not value:
        return clock.local_date(now, page_tz(request)) or now.date()
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise BadRequest("a date like 2030-03-04", "day") from None
    if (why := dates.out_of_range(day)) is not None:
        raise BadRequest(why, "day")
    return day


@router.get("/scheduling/sites/{site_id}/day", response_class=HTMLResponse)
def day_page(
    site_id: RowId, request: Request, actor: PageDeskActor, db: DbDep, now: NowDep, day: str = ""
) -> Response:
    """Chairs x time for one local day, with each booking's buttons."""
    on = _day_param(day, request, now)
    tz = page_tz(request)
    view = service.day_view(db, actor, site_id, on, tz, now)
    site, chairs, bookings, hours = view.site, view.chairs, view.bookings, view.hours
    rows: list[dict[str, Any]] = []
    if hours is not None or bookings:
        first = hours[0] if hours else time(7)
        last = hours[1] if hours else time(20)
        t = datetime.combine(on, first)
        step = timedelta(minutes=30)
        while t.time() < last or t == datetime.combine(on, first):
            slot_start = clock.from_local(t, tz)
            cells = []
            for chair in chairs:
                cells.append(
                    [
                        b
                        for b in bookings
                        if b.chair_id == chair.id and slot_start <= b.starts_at < slot_start + step
                    ]
                )
            rows.append({"time": t.time(), "cells": cells})
            t += step
            if t.date() != on:
                break
    ctx = {
        "site": site,
        "day": on,
        "prev": on - timedelta(days=1),
        "next": on + timedelta(days=1),
        "chairs": chairs,
        "rows": rows,
        "patients": view.patients,
        "closed": hours is None,
        "unconfirmed": sum(1 for b in bookings if b.holds and b.confirmed_at is None),
        "flags": view.flags,
    }
    return render(request, "scheduling/day.html", ctx)


@router.get("/scheduling/sites/{site_id}/board", response_class=HTMLResponse)
def board_page(site_id: RowId, request: Request, actor: PageDeskActor, db: DbDep) -> Response:
    """The live chair board (filled and refreshed by /static/board.js)."""
    site = queries.get_site(db, _cid(actor), site_id)
    readonly = actor.user is not None and actor.user.role is Role.frontdesk
    return render(request, "scheduling/board.html", {"site": site, "readonly": readonly})


@router.get("/scheduling/sites/{site_id}/board.json")
async def board_json(site_id: RowId, request: Request, access: LivePageDeskActor) -> JSONResponse:
    """The board's rows for the page's script (session cookie; audited). A live view: the
    login check, the board and the commit run in one thread hop (``in_one_hop``), where a
    ``PageDeskActor`` route with ``DbDep`` makes three."""

    def work(db: DbDep, settings: Settings, now: datetime) -> JSONResponse:
        actor = access.resolve(db, settings, now)
        rows = board.board_for(db, actor, site_id, settings, now)
        tz = page_tz(request)
        for row in rows:
            for key in ("next_due_at", "starts_at"):
                row[key] = clock.format_local(row.get(key), tz, "%H:%M") if row.get(key) else ""
        return JSONResponse({"now": clock.format_local(now, tz, "%H:%M:%S"), "chairs": rows})

    return await in_one_hop(request, work)


def _booking(db: DbDep, actor: Actor, booking_id: int) -> Booking:
    row = queries.get_booking(db, _cid(actor), booking_id, lock=True)
    return row


def _back(booking: Booking, request: Request) -> str:
    day = clock.local_date(booking.starts_at, page_tz(request))
    return f"/scheduling/sites/{booking.site_id}/day?day={day}"


@router.post("/scheduling/bookings/{booking_id}/check-in")
def check_in(booking_id: RowId, request: Request, actor: PageDeskActor, db: DbDep) -> Response:
    """The patient has arrived."""
    row = _booking(db, actor, booking_id)
    service.check_in(db, actor, row)
    return RedirectResponse(_back(row, request), status_code=303)


@router.post("/scheduling/bookings/{booking_id}/cancel")
def cancel(
    booking_id: RowId,
    request: Request,
    actor: PageDeskActor,
    db: DbDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """Cancel, or record a no-show, with a reason."""
    row = _booking(db, actor, booking_id)
    service.cancel(db, actor, now, row, form.get("reason", ""), form.get("no_show") == "yes")
    return RedirectResponse(_back(row, request), status_code=303)


@router.post("/scheduling/bookings/{booking_id}/link", response_class=HTMLResponse)
def confirmation_link(
    booking_id: RowId, request: Request, actor: PageDeskActor, db: DbDep, settings: SettingsDep
) -> Response:
    """A new confirmation link for the patient (shown once, to copy)."""
    row = _booking(db, actor, booking_id)
    token = service.issue_link_for(db, actor, settings.secret_key.get_secret_value(), row)
    base = settings.public_url or str(request.base_url).rstrip("/")
    ctx = {"booking": row, "link": f"{base.rstrip('/')}/b/{token}", "back": _back(row, request)}
    return render(request, "scheduling/link.html", ctx)


@router.post("/scheduling/bookings/{booking_id}/session")
def open_session(
    booking_id: RowId, request: Request, actor: PageDeskActor, db: DbDep, settings: SettingsDep
) -> Response:
    """Open the treatment session of the booking (nurse or clinician) and go to it."""
    row = _booking(db, actor, booking_id)
    if actor.user is None or actor.user.role not in (Role.nurse, Role.clinician):
        raise Forbidden("only a nurse or a clinician may open a session")
    session_id = service.open_session(db, actor, row, settings)
    return RedirectResponse(f"/sessions/{session_id}", status_code=303)


# --- a patient's bookings and the course form ---------------------------------------------


def _patient_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    patient: Patient,
    errors: list[dict[str, str]],
    values: dict[str, str],
    status: int = 200,
) -> Response:
    rows = service.patient_bookings(db, actor, patient)
    ctx = {
        "patient": patient,
        "bookings": rows,
        "sites": queries.list_sites(db, _cid(actor)),
        "plans": queries.active_plans(db, patient.id),
        "errors": errors,
        "values": values,
    }
    return render(request, "scheduling/patient.html", ctx, status_code=status)


@router.get("/patients/{patient_id}/bookings", response_class=HTMLResponse)
def patient_page(
    request: Request, patient: DeskPagePatient, actor: PageDeskActor, db: DbDep
) -> Response:
    """The patient's bookings and the form that books a course."""
    return _patient_page(request, db, actor, patient, [], {})


def _ask(
    db: DbDep, actor: Actor, patient: Patient, form: dict[str, str], today: date
) -> service.CourseAsk:
    def number(name: str) -> int:
        try:
            return int(form.get(name, ""))
        except ValueError:
            raise BadRequest("choose one", name) from None

    def clock_time(name: str, default: time) -> time:
        value = form.get(name, "").strip()
        if not value:
            return default
        try:
            return time.fromisoformat(value)
        except ValueError:
            raise BadRequest("a time like 09:00", name) from None

    weekdays = frozenset(int(d) for d in form.get("weekdays", "").split(",") if d.strip().isdigit())
    window = Window(
        weekdays or frozenset(range(7)),
        clock_time("earliest", time(0)),
        clock_time("latest_start", time(23, 59)),
    )
    return service.plan_course(
        db, _cid(actor), patient, number("plan_id"), number("site_id"), window, today
    )


@router.post("/patients/{patient_id}/bookings/search")
def search_course(
    patient: DeskPagePatient,
    actor: PageDeskActor,
    db: DbDep,
    settings: SettingsDep,
    form: FormFields,
    request: Request,
    now: NowDep,
) -> JSONResponse:
    """The slots a course would take from now on (JSON for the form's script; nothing is
    booked)."""
    sched = scheduling_settings()
    today = clock.local_date(now, page_tz(request)) or now.date()
    try:
        ask = _ask(db, actor, patient, dict(form), today)
        slots = service.find_course_slots(
            db,
            _cid(actor),
            patient.id,
            ask,
            sched.rules(),
            settings.timezone,
            sched.max_delay_days,
            not_before=now,
        )
    except KetacareError as exc:
        if exc.status_code == 404 and exc.field is None:
            raise
        return JSONResponse({"detail": [exc.detail()]}, 422)
    tz = page_tz(request)
    chairs = {c.id: c.name for c in queries.list_chairs(db, ask.site_id)}
    return JSONResponse(
        {
            "slots": [
                {
                    "chair": chairs.get(s.chair_id, ""),
                    "day": clock.format_local(s.start, tz, "%a %Y-%m-%d"),
                    "start": clock.format_local(s.start, tz, "%H:%M"),
                    "end": clock.format_local(s.end, tz, "%H:%M"),
                }
                for s in slots
            ]
        }
    )


@router.post("/patients/{patient_id}/bookings/course", response_class=HTMLResponse)
def book_course(
    request: Request,
    patient: DeskPagePatient,
    actor: PageDeskActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """Book the whole course (one transaction) and show the patient's bookings."""
    values = dict(form)
    sched = scheduling_settings()
    try:
        with db.begin_nested():
            today = clock.local_date(now, page_tz(request)) or now.date()
            ask = _ask(db, actor, patient, values, today)
            service.book_course(
                db,
                actor,
                now,
                patient,
                ask,
                sched.rules(),
                settings.timezone,
                sched.max_delay_days,
                settings=settings,
            )
    except KetacareError as exc:
        if exc.status_code == 404 and exc.field is None:
            raise
        errors = [exc.detail()]
        return _patient_page(request, db, actor, patient, errors, values, exc.status_code)
    return RedirectResponse(f"/patients/{patient.id}/bookings", status_code=303)
