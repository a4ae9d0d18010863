"""Scheduling JSON API (staff bearer tokens, clinic-scoped): sites, chairs, closures,
shifts, slots, bookings, courses, reschedule, cancel / no-show, waitlist, the day and the
chair board. Every read of a patient's bookings is audited with the patients it shows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from ketacare.domain.course.booking import Kind, Window
from ketacare.features._kit.clock import local_date
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep, in_one_hop
from ketacare.features._kit.errors import BadRequest, Forbidden
from ketacare.features._kit.params import RowId
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import ApiDeskActor, LiveApiDeskActor
from ketacare.features.auth.models import Role
from ketacare.features.patients.deps import DeskApiPatient
from ketacare.features.patients.queries import get_patient
from ketacare.features.scheduling import board, calendar, queries, service
from ketacare.features.scheduling.config import scheduling_settings
from ketacare.features.scheduling.schemas import (
    BoardChair,
    BookingIn,
    BookingOut,
    CancelIn,
    ChairIn,
    ChairOut,
    ClosureIn,
    CourseIn,
    FeedIn,
    FeedOut,
    IdOut,
    MoveOut,
    RescheduleIn,
    RescheduleOut,
    ShiftIn,
    SiteIn,
    SiteOut,
    SlotOut,
    WaitlistIn,
)
from ketacare.settings import Settings

router = APIRouter(prefix="/api/v1/scheduling", tags=["scheduling"])


def _admin(actor: Actor) -> None:
    if actor.user is None or actor.user.role is not Role.admin:
        raise Forbidden("only the clinic's admins set up sites, chairs, closures and shifts")


def _cid(actor: Actor) -> int:
    assert actor.clinic_id is not None
    return actor.clinic_id


def _window(body: CourseIn) -> Window:
    return Window(frozenset(body.weekdays), body.earliest, body.latest_start)


def course_ask(
    db: DbDep, actor: Actor, patient_id: int, body: CourseIn, now: datetime, default_tz: str
) -> service.CourseAsk:
    """The course of a request body: the plan's sessions, or the explicit targets."""
    window = _window(body)
    if body.plan_id is not None:
        patient = get_patient(db, _cid(actor), patient_id)
        # From today (clinic time) unless asked: the plan's past days are not booked.
        tz = service.zone_name(db, _cid(actor), default_tz)
        from_day = body.from_day or local_date(now, tz)
        return service.plan_course(
            db, _cid(actor), patient, body.plan_id, body.site_id, window, from_day
        )
    if body.kind is None or not body.targets:
        raise BadRequest("give plan_id, or kind and targets", "plan_id")
    return service.CourseAsk(
        body.site_id, body.kind, tuple(body.targets), body.min_spacing_hours, window
    )


@router.get("/sites", response_model=list[SiteOut])
def list_sites(actor: ApiDeskActor, db: DbDep) -> list[SiteOut]:
    """The clinic's sites with their chairs."""
    return [
        SiteOut(
            id=s.id,
            name=s.name,
            hours=s.hours,
            rems_certified=s.rems_certified,
            chairs=[ChairOut.model_validate(c) for c in queries.list_chairs(db, s.id)],
        )
        for s in queries.list_sites(db, _cid(actor))
    ]


@router.post("/sites", response_model=IdOut, status_code=201)
def create_site(body: SiteIn, actor: ApiDeskActor, db: DbDep) -> IdOut:
    """A new site (admins)."""
    _admin(actor)
    site = service.create_site(db, actor, _cid(actor), body.name, body.hours, body.rems_certified)
    return IdOut(id=site.id)


@router.post("/sites/{site_id}/chairs", response_model=IdOut, status_code=201)
def create_chair(site_id: RowId, body: ChairIn, actor: ApiDeskActor, db: DbDep) -> IdOut:
    """A new chair at the site (admins)."""
    site = queries.get_site(db, _cid(actor), site_id)
    _admin(actor)
    return IdOut(id=service.add_chair(db, actor, site, body.name).id)


@router.post("/sites/{site_id}/closures", response_model=IdOut, status_code=201)
def create_closure(site_id: RowId, body: ClosureIn, actor: ApiDeskActor, db: DbDep) -> IdOut:
    """Close the site on a local date (admins)."""
    site = queries.get_site(db, _cid(actor), site_id)
    _admin(actor)
    return IdOut(id=service.add_closure(db, actor, site, body.day, body.reason).id)


@router.post("/sites/{site_id}/shifts", response_model=IdOut, status_code=201)
def create_shift(site_id: RowId, body: ShiftIn, actor: ApiDeskActor, db: DbDep) -> IdOut:
    """A staff shift at the site (admins)."""
    site = queries.get_site(db, _cid(actor), site_id)
    _admin(actor)
    shift = service.add_shift(
        db, actor, site, body.staff_name, body.role, body.starts_at, body.ends_at, body.user_id
    )
    return IdOut(id=shift.id)


@router.get("/patients/{patient_id}/slots", response_model=list[SlotOut])
def day_slots(
    patient: DeskApiPatient,
    actor: ApiDeskActor,
    db: DbDep,
    settings: SettingsDep,
    site_id: Annotated[int, Query(ge=1, le=2_147_483_647)],
    kind: Annotated[Kind, Query()],
    day: Annotated[date, Query()],
) -> list[SlotOut]:
    """Every bookable chair time of one local day for the patient."""
    slots = service.free_slots(
        db,
        _cid(actor),
        site_id,
        kind,
        patient.id,
        day,
        scheduling_settings().rules(),
        settings.timezone,
    )
    return [SlotOut(chair_id=s.chair_id, starts_at=s.start, ends_at=s.end) for s in slots]


@router.post("/patients/{patient_id}/course-search", response_model=list[SlotOut])
def course_search(
    body: CourseIn,
    patient: DeskApiPatient,
    actor: ApiDeskActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> list[SlotOut]:
    """Slots for a whole course from now on (nothing is booked)."""
    sched = scheduling_settings()
    ask = course_ask(db, actor, patient.id, body, now, settings.timezone)
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
    return [SlotOut(chair_id=s.chair_id, starts_at=s.start, ends_at=s.end) for s in slots]


@router.post("/patients/{patient_id}/courses", response_model=list[BookingOut], status_code=201)
def book_course(
    body: CourseIn,
    patient: DeskApiPatient,
    actor: ApiDeskActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> list[BookingOut]:
    """Book a whole course in one transaction (all sessions or none)."""
    sched = scheduling_settings()
    ask = course_ask(db, actor, patient.id, body, now, settings.timezone)
    rows = service.book_course(
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
    return [BookingOut.model_validate(r) for r in rows]


@router.post("/patients/{patient_id}/bookings", response_model=BookingOut, status_code=201)
def book_one(
    body: BookingIn,
    patient: DeskApiPatient,
    actor: ApiDeskActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> BookingOut:
    """Book one chair time."""
    row = service.book_one(
        db,
        actor,
        now,
        patient,
        body.site_id,
        body.kind,
        body.chair_id,
        body.starts_at,
        scheduling_settings().rules(),
        settings.timezone,
        settings=settings,
    )
    return BookingOut.model_validate(row)


@router.get("/patients/{patient_id}/bookings", response_model=list[BookingOut])
def patient_bookings(patient: DeskApiPatient, actor: ApiDeskActor, db: DbDep) -> list[BookingOut]:
    """The patient's bookings (every state)."""
    rows = service.patient_bookings(db, actor, patient)
    return [BookingOut.model_validate(r) for r in rows]


@router.post("/patients/{patient_id}/waitlist", response_model=IdOut, status_code=201)
def join_waitlist(
    body: WaitlistIn, patient: DeskApiPatient, actor: ApiDeskActor, db: DbDep
) -> IdOut:
    """Put the patient on a site's waitlist."""
    entry = service.join_waitlist(
        db, actor, patient, body.site_id, body.kind, body.earliest, body.latest
    )
    return IdOut(id=entry.id)


@router.get("/bookings/{booking_id}", response_model=BookingOut)
def read_booking(booking_id: RowId, actor: ApiDeskActor, db: DbDep) -> BookingOut:
    """One booking."""
    return BookingOut.model_validate(service.read_booking(db, actor, booking_id))


@router.post("/bookings/{booking_id}/reschedule", response_model=RescheduleOut)
def reschedule(
    booking_id: RowId,
    body: RescheduleIn,
    actor: ApiDeskActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> RescheduleOut:
    """Move a booking; later sessions that would break the spacing are proposed new slots
    (moved too with ``move_later``)."""
    row = queries.get_booking(db, _cid(actor), booking_id, lock=True)
    proposal = service.reschedule(
        db,
        actor,
        now,
        row,
        body.starts_at,
        scheduling_settings().rules(),
        settings.timezone,
        body.move_later,
        body.min_spacing_hours,
        body.chair_id,
    )
    later = [
        MoveOut(booking_id=i, chair_id=s.chair_id, starts_at=s.start, ends_at=s.end)
        for i, s in proposal.moves
    ]
    return RescheduleOut(
        booking=BookingOut.model_validate(row), later=later, moved_later=body.move_later
    )


@router.post("/bookings/{booking_id}/cancel", response_model=BookingOut)
def cancel(
    booking_id: RowId, body: CancelIn, actor: ApiDeskActor, db: DbDep, now: NowDep
) -> BookingOut:
    """Cancel a booking or record a no-show, with a reason (the waitlist is offered it)."""
    row = queries.get_booking(db, _cid(actor), booking_id, lock=True)
    return BookingOut.model_validate(service.cancel(db, actor, now, row, body.reason, body.no_show))


@router.get("/sites/{site_id}/day", response_model=list[BookingOut])
def day(
    site_id: RowId,
    actor: ApiDeskActor,
    db: DbDep,
    settings: SettingsDep,
    day: Annotated[date, Query()],
) -> list[BookingOut]:
    """The site's bookings of one local day (every state)."""
    rows = service.day_bookings(db, actor, site_id, day, settings.timezone)
    return [BookingOut.model_validate(r) for r in rows]


@router.get("/sites/{site_id}/board", response_model=list[BoardChair])
async def chair_board(
    site_id: RowId, request: Request, access: LiveApiDeskActor
) -> list[BoardChair]:
    """The live chair board of the site (today, clinic time). A live view: the token check,
    the board and the commit run in one thread hop (``in_one_hop``)."""

    def work(db: DbDep, settings: Settings, now: datetime) -> list[BoardChair]:
        actor = access.resolve(db, settings, now)
        rows = board.board_for(db, actor, site_id, settings, now)
        return [BoardChair.model_validate(r) for r in rows]

    return await in_one_hop(request, work)


@router.post("/feeds", response_model=FeedOut, status_code=201)
def create_feed(body: FeedIn, actor: ApiDeskActor, db: DbDep, settings: SettingsDep) -> FeedOut:
    """A private ICS feed of a site's bookings or of your shifts; the URL is shown once."""
    feed, token = calendar.create_feed(
        db, actor, settings.secret_key.get_secret_value(), body.site_id
    )
    db.flush()
    url = f"{settings.public_url.rstrip('/')}/cal/{token}.ics"
    return FeedOut(
        id=feed.id,
        site_id=feed.site_id,
        user_id=feed.user_id,
        created_at=feed.created_at,
        revoked_at=None,
        url=url,
    )


@router.get("/feeds", response_model=list[FeedOut])
def list_feeds(actor: ApiDeskActor, db: DbDep) -> list[FeedOut]:
    """Your feeds (admins: the clinic's), without their URLs."""
    return [
        FeedOut(
            id=f.id,
            site_id=f.site_id,
            user_id=f.user_id,
            created_at=f.created_at,
            revoked_at=f.revoked_at,
        )
        for f in calendar.list_feeds(db, actor)
    ]


@router.post("/feeds/{feed_id}/revoke", response_model=FeedOut)
def revoke_feed(feed_id: RowId, actor: ApiDeskActor, db: DbDep, now: NowDep) -> FeedOut:
    """Revoke a feed: its URL answers 404 from now on."""
    f = calendar.revoke_feed(db, actor, feed_id, now)
    return FeedOut(
        id=f.id,
        site_id=f.site_id,
        user_id=f.user_id,
        created_at=f.created_at,
        revoked_at=f.revoked_at,
    )
