"""The patient's booking link (``/b/{token}``, no account): see the time and place, confirm
or ask to reschedule, acknowledge the pre-visit instructions. Shows no clinical data."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ketacare.features._kit import clock
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep, client_ip
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.templating import render
from ketacare.features.auth.actor import Actor
from ketacare.features.scheduling import calendar, queries, service
from ketacare.features.scheduling.models import Booking

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

#: Pre-visit instructions by kind (label and product.md/clinical.md 5.2 for esketamine).
INSTRUCTIONS = {
    "esketamine": (
        "No food for 2 hours and no liquids for 30 minutes before your visit.",
        "Arrange a ride home: you may not drive until the next day after a restful sleep.",
    ),
    "iv": (
        "Follow the fasting advice your clinic gave you.",
        "Arrange a ride home: do not drive for the rest of the day.",
    ),
}


def _page(
    request: Request, db: DbDep, booking: Booking, settings: SettingsDep, token: str, done: str = ""
) -> Response:
    site, clinic = queries.booking_place(db, booking)
    tz = clock.clinic_tz(clinic, settings.timezone)
    ctx = {
        "when": clock.format_local(booking.starts_at, tz, "%A %d %B %Y, %H:%M"),
        "tz": tz.key,
        "place": site.name if site else "",
        "clinic": clinic.name if clinic else "",
        "instructions": INSTRUCTIONS[booking.kind.value],
        "booking": booking,
        "token": token,
        "done": done,
    }
    return render(request, "scheduling/public.html", ctx)


@router.get("/b/{token}", response_class=HTMLResponse)
def show(token: str, request: Request, db: DbDep, settings: SettingsDep) -> Response:
    """The booking's time and place, and the confirmation form."""
    booking = service.booking_by_token(db, settings.secret_key.get_secret_value(), token)
    return _page(request, db, booking, settings, token)


@router.post("/b/{token}", response_class=HTMLResponse)
def answer(
    token: str, request: Request, db: DbDep, settings: SettingsDep, now: NowDep, form: FormFields
) -> Response:
    """Confirm, ask to reschedule, acknowledge the instructions."""
    booking = service.booking_by_token(db, settings.secret_key.get_secret_value(), token)
    action = form.get("action", "")
    actor = Actor.anonymous("link", client_ip(request))
    service.answer_link(
        db,
        actor,
        now,
        booking,
        confirm=action == "confirm",
        reschedule_request=action == "reschedule",
        instructions=form.get("instructions") == "yes",
    )
    done = {
        "confirm": "Thank you: your visit is confirmed.",
        "reschedule": "Thank you: the clinic will call you to find another time.",
    }.get(action, "Saved.")
    return _page(request, db, booking, settings, token, done)


@router.get("/cal/{token}.ics")
def calendar_feed(token: str, db: DbDep, settings: SettingsDep, now: NowDep) -> Response:
    """A private calendar feed (text/calendar; 404 when unknown or revoked)."""
    body = calendar.render_feed(
        db, settings.secret_key.get_secret_value(), token, now, settings.public_url.rstrip("/")
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"cache-control": "private, max-age=300"},
    )
