"""Scheduling use cases: resources, roster, booking a session or a course, rescheduling,
cancelling, no-shows and the waitlist. Services take ``actor`` and ``now``, audit themselves
and ``flush()``; the caller owns the transaction.

Concurrency: a booking locks its site row first (PostgreSQL ``SELECT ... FOR UPDATE``;
SQLite's ``BEGIN IMMEDIATE`` already holds the write lock), so the nurse-ratio and
prescriber checks see every committed booking of the site; the database's overlap guard
(migration 0013) is the last word on chairs and patients, also across sites.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.domain import dates
from ketacare.domain.course.booking import (
    SOURCE_POLICY,
    BookingError,
    Busy,
    CourseRequest,
    Floor,
    FloorRules,
    Kind,
    Refusal,
    Slot,
    StaffRole,
    Window,
    check,
    day_slots,
    find_course,
    shift_later,
)
from ketacare.features import registry
from ketacare.features._kit.clock import clinic_tz, local_day_bounds
from ketacare.features._kit.errors import BadRequest, KetacareError, NotFound
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.clinics.models import Clinic
from ketacare.features.intake.models import PlannedSession, TreatmentPlan
from ketacare.features.patients.models import Patient
from ketacare.features.rems import service as rems_service
from ketacare.features.scheduling import queries
from ketacare.features.scheduling.models import (
    Booking,
    BookingStatus,
    Chair,
    Closure,
    Reminder,
    ReminderStatus,
    Site,
    StaffShift,
    WaitlistEntry,
    WaitStatus,
)
from ketacare.settings import Settings


class BookingConflict(KetacareError):
    """The slot was taken (or a rule refused it) between the search and the booking."""

    status_code = 409


def refused(error: BookingError) -> BadRequest:
    """A :class:`BookingError` as a 422 naming the field and the first rule."""
    first = error.refusals[0] if error.refusals else Refusal("BOOK", "no slot", "")
    return BadRequest(f"{first.rule}: {first.reason}", error.field)


def zone_name(db: Session, clinic_id: int, default_tz: str) -> str:
    """The clinic's IANA zone name (its own, else ``default_tz``)."""
    clinic = db.get(Clinic, clinic_id)
    return clinic_tz(clinic, default_tz).key


# --- resources and roster -----------------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def parse_hours(text: str) -> dict[str, list[str]]:
    """``"mon-fri 08:00-18:00; sat 09:00-13:00"`` -> {"0": ["08:00", "18:00"], ...}.

    Raises BadRequest (field ``hours``) on bad text or closing before opening.
    """
    out: dict[str, list[str]] = {}
    for part in text.split(";"):
        part = part.strip()
        if not part:
            continue
        try:
            days, span = part.split()
            opens, closes = (time.fromisoformat(t) for t in span.split("-"))
            first, _, last = days.lower().partition("-")
            a = WEEKDAYS.index(first[:3])
            b = WEEKDAYS.index(last[:3]) if last else a
        except ValueError:
            raise BadRequest(
                f"cannot read {part!r}; write e.g. 'mon-fri 08:00-18:00; sat 09:00-13:00'",
                "hours",
            ) from None
        if closes <= opens or b < a:
            raise BadRequest(f"{part!r}: closing must be after opening", "hours")
        for day in range(a, b + 1):
            out[str(day)] = [opens.strftime("%H:%M"), closes.strftime("%H:%M")]
    if not out:
        raise BadRequest("give at least one day with opening hours", "hours")
    return out


def create_site(
    db: Session, actor: Actor, clinic_id: int, name: str, hours: str, rems_certified: bool
) -> Site:
    """A new site with opening hours (``parse_hours`` text)."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise BadRequest("1 to 100 characters", "name")
    if db.scalars(select(Site.id).where(Site.clinic_id == clinic_id, Site.name == name)).first():
        raise BadRequest("a site of this name exists", "name")
    site = Site(
        clinic_id=clinic_id, name=name, hours=parse_hours(hours), rems_certified=rems_certified
    )
    db.add(site)
    db.flush()
    record(db, actor, "create", "sched_site", site.id, clinic_id=clinic_id)
    return site


def add_chair(db: Session, actor: Actor, site: Site, name: str) -> Chair:
    """A new chair at ``site``."""
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise BadRequest("1 to 100 characters", "name")
    if db.scalars(select(Chair.id).where(Chair.site_id == site.id, Chair.name == name)).first():
        raise BadRequest("a chair of this name exists at the site", "name")
    chair = Chair(clinic_id=site.clinic_id, site_id=site.id, name=name)
    db.add(chair)
    db.flush()
    record(db, actor, "create", "sched_chair", chair.id, clinic_id=site.clinic_id)
    return chair


def add_closure(db: Session, actor: Actor, site: Site, day: date, reason: str) -> Closure:
    """Close ``site`` on ``day`` (existing bookings stay; the day view flags them)."""
    if (why := dates.out_of_range(day)) is not None:
        raise BadRequest(why, "day")
    existing = db.scalars(select(Closure).where(Closure.site_id == site.id, Closure.day == day))
    closure = existing.first()
    if closure is None:
        closure = Closure(site_id=site.id, day=day, reason=reason.strip()[:200])
        db.add(closure)
        db.flush()
        record(db, actor, "create", "sched_closure", closure.id, clinic_id=site.clinic_id)
    return closure


def add_shift(
    db: Session,
    actor: Actor,
    site: Site,
    staff_name: str,
    role: StaffRole,
    starts_at: datetime,
    ends_at: datetime,
    user_id: int | None = None,
) -> StaffShift:
    """A staff member on site from ``starts_at`` to ``ends_at`` (at most 24 h)."""
    for name_, value in (("starts_at", starts_at), ("ends_at", ends_at)):
        if (why := dates.out_of_range(value)) is not None:
            raise BadRequest(why, name_)
    if not timedelta(0) < ends_at - starts_at <= timedelta(hours=24):
        raise BadRequest("a shift ends after it starts and lasts at most 24 hours", "ends_at")
    name = staff_name.strip()
    if not 1 <= len(name) <= 200:
        raise BadRequest("1 to 200 characters", "staff_name")
    shift = StaffShift(
        clinic_id=site.clinic_id,
        site_id=site.id,
        user_id=user_id,
        staff_name=name,
        role=role,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    db.add(shift)
    db.flush()
    record(db, actor, "create", "sched_shift", shift.id, clinic_id=site.clinic_id)
    return shift


# --- finding slots --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CourseAsk:
    """What a course search needs: where, what, when (local dates and window), spacing."""

    site_id: int
    kind: Kind
    targets: tuple[date, ...]
    min_spacing_hours: float = 48.0
    window: Window = field(default_factory=Window)
    plan_id: int | None = None
    planned_session_ids: tuple[int, ...] = ()


def plan_course(
    db: Session,
    clinic_id: int,
    patient: Patient,
    plan_id: int,
    site_id: int,
    window: Window,
    from_day: date | None = None,
) -> CourseAsk:
    """The course ask of a treatment plan: its planned days from ``from_day`` on, its drug
    and the protocol's spacing (48 h for every built-in protocol)."""
    plan = db.scalars(
        select(TreatmentPlan).where(
            TreatmentPlan.id == plan_id,
            TreatmentPlan.clinic_id == clinic_id,
            TreatmentPlan.patient_id == patient.id,
        )
    ).one_or_none()
    if plan is None:
        raise NotFound("no such plan of this patient", "plan_id")
    stmt = select(PlannedSession).where(PlannedSession.plan_id == plan.id)
    if from_day is not None:
        stmt = stmt.where(PlannedSession.day >= from_day)
    planned = db.scalars(stmt.order_by(PlannedSession.number)).all()
    if not planned:
        raise BadRequest("the plan has no planned sessions from this day", "plan_id")
    from ketacare.domain.course.protocols import builtin_protocols

    protocol = builtin_protocols().get(plan.protocol_id)
    spacing = protocol.min_spacing_hours if protocol is not None else 48.0
    kind = Kind.esketamine if plan.drug == "esketamine" else Kind.iv
    return CourseAsk(
        site_id,
        kind,
        tuple(p.day for p in planned),
        spacing,
        window,
        plan.id,
        tuple(p.id for p in planned),
    )


def _floor_for(
    db: Session,
    site: Site,
    tz: str,
    days: Sequence[date],
    patient_id: int,
    max_delay: int,
    exclude: Sequence[int] = (),
) -> Floor:
    # The days searched (a session may move max_delay days, then the next one's spacing).
    start, _ = local_day_bounds(min(days) - timedelta(days=1), tz)
    _, end = local_day_bounds(max(days) + timedelta(days=2 * max_delay + 3), tz)
    return queries.load_floor(db, site, tz, start, end, exclude, patient_id)


def find_course_slots(
    db: Session,
    clinic_id: int,
    patient_id: int,
    ask: CourseAsk,
    rules: FloorRules,
    default_tz: str,
    max_delay_days: int = 3,
    lock: bool = False,
    not_before: datetime | None = None,
) -> list[Slot]:
    """Slots for every session of ``ask`` (422 naming the first session that cannot go)."""
    for index, day in enumerate(ask.targets):
        if (why := dates.out_of_range(day)) is not None:
            raise BadRequest(why, f"targets[{index}]")
    if not 1 <= len(ask.targets) <= 60:
        raise BadRequest("1 to 60 sessions", "targets")
    site = queries.get_site(db, clinic_id, ask.site_id, lock=lock)
    tz = zone_name(db, clinic_id, default_tz)
    floor = _floor_for(db, site, tz, ask.targets, patient_id, max_delay_days)
    request = CourseRequest(
        ask.kind,
        patient_id,
        ask.targets,
        ask.min_spacing_hours,
        ask.window,
        max_delay_days,
        not_before,
    )
    try:
        return find_course(floor, rules, request)
    except BookingError as error:
        raise refused(error) from None


def free_slots(
    db: Session,
    clinic_id: int,
    site_id: int,
    kind: Kind,
    patient_id: int,
    day: date,
    rules: FloorRules,
    default_tz: str,
) -> list[Slot]:
    """Every bookable (chair, start) of one local day."""
    if (why := dates.out_of_range(day)) is not None:
        raise BadRequest(why, "day")
    site = queries.get_site(db, clinic_id, site_id)
    tz = zone_name(db, clinic_id, default_tz)
    floor = _floor_for(db, site, tz, [day], patient_id, 0)
    return day_slots(floor, rules, kind, patient_id, day)


# --- booking ----------------------------------------------------------------------------------


def rems_gate(db: Session, settings: Settings, patient: Patient, kind: Kind, day: date) -> None:
    """Refuse (409, every reason) an esketamine booking for the clinic-local ``day`` that the
    REMS does not allow: the clinic's setting is not certified or the patient is not enrolled
    by then (issue 19.1/19.2). Off with ``KETACARE_REMS_GATE_ENFORCED=false``."""
    if kind != Kind.esketamine:
        return
    reasons = rems_service.booking_reasons(db, patient.clinic_id, patient.id, day, settings)
    if reasons:
        raise rems_service.RemsRefused(reasons)


@dataclass(frozen=True, slots=True)
class DayView:
    """One local day of a site: its chairs, the bookings (with their patients) and the other
    features' flags on them."""

    site: Site
    chairs: Sequence[Chair]
    bookings: Sequence[Booking]
    patients: dict[int, Patient]
    hours: tuple[time, time] | None
    flags: dict[int, list[str]]


def day_view(db: Session, actor: Actor, site_id: int, day: date, tz: str, now: datetime) -> DayView:
    """The day view of ``site_id`` on the local ``day`` (audited with every patient shown)."""
    assert actor.clinic_id is not None
    site = queries.get_site(db, actor.clinic_id, site_id)
    start, end = local_day_bounds(day, tz)
    bookings = queries.bookings_between(db, actor.clinic_id, site.id, start, end)
    patients = queries.patients_by_id(db, actor.clinic_id, sorted({b.patient_id for b in bookings}))
    record(db, actor, "list", "sched_booking", site.id, patients=sorted(patients))
    return DayView(
        site,
        queries.list_chairs(db, site.id),
        bookings,
        patients,
        queries.site_hours(site).get(day.weekday()),
        booking_flags(db, actor.clinic_id, bookings, now, tz),
    )


def day_bookings(
    db: Session, actor: Actor, site_id: int, day: date, default_tz: str
) -> Sequence[Booking]:
    """The site's bookings of one clinic-local day, every state (audited with the patients)."""
    assert actor.clinic_id is not None
    if (why := dates.out_of_range(day)) is not None:
        raise BadRequest(why, "day")
    site = queries.get_site(db, actor.clinic_id, site_id)
    start, end = local_day_bounds(day, zone_name(db, actor.clinic_id, default_tz))
    rows = queries.bookings_between(db, actor.clinic_id, site.id, start, end)
    record(
        db, actor, "list", "sched_booking", site.id, patients=sorted({r.patient_id for r in rows})
    )
    return rows


@dataclass(frozen=True, slots=True)
class FrontDesk:
    """The front desk's lists: today's bookings (every site, every state), holding bookings of
    the next days not yet confirmed by the patient, the open waitlist; with their patients and
    sites."""

    today: Sequence[Booking]
    unconfirmed: Sequence[Booking]
    waitlist: Sequence[WaitlistEntry]
    patients: dict[int, Patient]
    sites: dict[int, Site]


def front_desk(
    db: Session, actor: Actor, now: datetime, tz: str, today: date, days: int = 7
) -> FrontDesk:
    """The front desk's home lists for the clinic-local ``today`` and the ``days`` after it
    (audited once, with every patient shown)."""
    assert actor.clinic_id is not None
    start, end = local_day_bounds(today, tz)
    _, horizon = local_day_bounds(today + timedelta(days=days), tz)
    todays = queries.bookings_between(db, actor.clinic_id, None, start, end)
    unconfirmed = queries.unconfirmed_between(db, actor.clinic_id, max(start, now), horizon)
    waitlist = queries.open_waitlist(db, actor.clinic_id)
    ids = sorted(
        {b.patient_id for b in todays}
        | {b.patient_id for b in unconfirmed}
        | {w.patient_id for w in waitlist}
    )
    patients = queries.patients_by_id(db, actor.clinic_id, ids)
    record(db, actor, "list", "sched_booking", "front_desk", patients=ids)
    sites = {s.id: s for s in queries.list_sites(db, actor.clinic_id)}
    return FrontDesk(todays, unconfirmed, waitlist, patients, sites)


def patient_bookings(db: Session, actor: Actor, patient: Patient) -> Sequence[Booking]:
    """The patient's bookings, every state (audited with the patient)."""
    rows = queries.patient_bookings(db, patient.clinic_id, patient.id)
    record(db, actor, "list", "sched_booking", patient_id=patient.id, patients=[patient.id])
    return rows


def read_booking(db: Session, actor: Actor, booking_id: int) -> Booking:
    """One booking of the actor's clinic (audited with its patient)."""
    assert actor.clinic_id is not None
    row = queries.get_booking(db, actor.clinic_id, booking_id)
    record(db, actor, "read", "sched_booking", row.id, patient_id=row.patient_id)
    return row


def booking_flags(
    db: Session, clinic_id: int, bookings: Sequence[Booking], now: datetime, tz: str
) -> dict[int, list[str]]:
    """Other features' flags on the bookings of a day view (``registry`` hook
    ``booking_flags``: billing flags bookings beyond the approved prior-authorisation units)."""
    out: dict[int, list[str]] = {}
    for hook in registry.session_hooks("booking_flags"):
        for key, reasons in hook(db, clinic_id, list(bookings), now, tz).items():
            out.setdefault(key, []).extend(reasons)
    return out


def _insert(db: Session, rows: Sequence[Booking]) -> None:
    """Add and flush ``rows``; an overlap refused by the database is a 409."""
    db.add_all(rows)
    try:
        db.flush()
    except IntegrityError as error:
        diag = getattr(error.orig, "diag", None)
        name = str(getattr(diag, "constraint_name", "") or "")
        text = str(error.orig)
        if "ex_sched_booking" in name or "sched_booking overlap" in text:
            what = "patient" if "patient" in (name or text) else "chair"
            raise BookingConflict(
                f"the {what} was booked meanwhile; search again", "starts_at"
            ) from None
        raise


def book_course(
    db: Session,
    actor: Actor,
    now: datetime,
    patient: Patient,
    ask: CourseAsk,
    rules: FloorRules,
    default_tz: str,
    max_delay_days: int = 3,
    *,
    settings: Settings,
) -> list[Booking]:
    """Book every session of ``ask`` in this transaction (all or nothing); an esketamine
    course first passes the REMS gate (setting certified, patient enrolled by its first day)."""
    if ask.targets:
        rems_gate(db, settings, patient, ask.kind, min(ask.targets))
    slots = find_course_slots(
        db,
        patient.clinic_id,
        patient.id,
        ask,
        rules,
        default_tz,
        max_delay_days,
        lock=True,
        not_before=now,
    )
    if slots and slots[0].start < now:
        raise BadRequest("the first session would be in the past", "targets[0]")
    site = queries.get_site(db, patient.clinic_id, ask.site_id)
    rows = [
        Booking(
            clinic_id=patient.clinic_id,
            site_id=site.id,
            chair_id=slot.chair_id,
            patient_id=patient.id,
            plan_id=ask.plan_id,
            planned_session_id=(ask.planned_session_ids[i] if ask.planned_session_ids else None),
            kind=ask.kind,
            starts_at=slot.start,
            ends_at=slot.end,
            created_by_email=actor.label,
            created_at=now,
        )
        for i, slot in enumerate(slots)
    ]
    _insert(db, rows)
    _remind(db, rows, now)
    for row in rows:
        record(db, actor, "create", "sched_booking", row.id, patient_id=patient.id)
    return rows


def book_one(
    db: Session,
    actor: Actor,
    now: datetime,
    patient: Patient,
    site_id: int,
    kind: Kind,
    chair_id: int,
    starts_at: datetime,
    rules: FloorRules,
    default_tz: str,
    *,
    settings: Settings,
) -> Booking:
    """Book one chair time, after every rule passes (and, for esketamine, the REMS gate)."""
    if (why := dates.out_of_range(starts_at)) is not None:
        raise BadRequest(why, "starts_at")
    if starts_at < now:
        raise BadRequest("in the past", "starts_at")
    site = queries.get_site(db, patient.clinic_id, site_id, lock=True)
    tz = zone_name(db, patient.clinic_id, default_tz)
    day = starts_at.astimezone(clinic_tz(None, tz)).date()
    rems_gate(db, settings, patient, kind, day)
    floor = _floor_for(db, site, tz, [day], patient.id, 0)
    refusal = check(floor, rules, kind, patient.id, chair_id, starts_at)
    if refusal is not None:
        raise BadRequest(f"{refusal.rule}: {refusal.reason}", "starts_at")
    row = Booking(
        clinic_id=patient.clinic_id,
        site_id=site.id,
        chair_id=chair_id,
        patient_id=patient.id,
        kind=kind,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(minutes=rules.chair_time(kind).total_min),
        created_by_email=actor.label,
        created_at=now,
    )
    _insert(db, [row])
    _remind(db, [row], now)
    record(db, actor, "create", "sched_booking", row.id, patient_id=patient.id)
    return row


@dataclass(frozen=True, slots=True)
class MoveProposal:
    """Where the later sessions of a course would go to keep the spacing (booking id ->
    new slot); empty when none has to move."""

    moves: tuple[tuple[int, Slot], ...]


def reschedule(
    db: Session,
    actor: Actor,
    now: datetime,
    booking: Booking,
    starts_at: datetime,
    rules: FloorRules,
    default_tz: str,
    move_later: bool = False,
    min_spacing_hours: float = 48.0,
    chair_id: int | None = None,
) -> MoveProposal:
    """Move ``booking`` to ``starts_at`` (its chair, else ``chair_id``, else any free one).

    The later sessions of its course that no longer keep ``min_spacing_hours`` are proposed
    new slots; with ``move_later`` they are moved in the same transaction.
    """
    if booking.status is not BookingStatus.booked:
        raise BadRequest(f"a {booking.status.value} booking cannot be moved", "booking_id")
    if (why := dates.out_of_range(starts_at)) is not None:
        raise BadRequest(why, "starts_at")
    if starts_at < now:
        raise BadRequest("in the past", "starts_at")
    site = queries.get_site(db, booking.clinic_id, booking.site_id, lock=True)
    tz = zone_name(db, booking.clinic_id, default_tz)
    later = list(queries.later_bookings(db, booking))
    day = starts_at.astimezone(clinic_tz(None, tz)).date()
    days = [day] + [b.starts_at.astimezone(clinic_tz(None, tz)).date() for b in later]
    floor = _floor_for(
        db, site, tz, days, booking.patient_id, 14, exclude=[booking.id] + [b.id for b in later]
    )
    chairs = [chair_id] if chair_id else [booking.chair_id, *floor.chairs]
    refusal: Refusal | None = Refusal("BOOK-CHAIR", "the site has no chair", SOURCE_POLICY)
    chosen = booking.chair_id
    for chair in chairs:
        refusal = check(floor, rules, booking.kind, booking.patient_id, chair, starts_at)
        if refusal is None:
            chosen = chair
            break
    if refusal is not None:
        raise BadRequest(f"{refusal.rule}: {refusal.reason}", "starts_at")
    # Which later sessions break the spacing from the moved one (in order)?
    spacing = timedelta(hours=min_spacing_hours)
    to_move: list[Booking] = []
    previous = starts_at
    for b in later:
        if to_move or b.starts_at - previous < spacing:
            to_move.append(b)
        previous = b.starts_at
    moves: list[tuple[int, Slot]] = []
    if to_move:
        kept = [b for b in later if b not in to_move]
        for b in kept:
            floor = floor.with_booking(_busy(b))
        try:
            slots = shift_later(
                floor,
                rules,
                booking.kind,
                booking.patient_id,
                starts_at,
                [b.starts_at for b in to_move],
                min_spacing_hours,
            )
        except BookingError as error:
            raise refused(error) from None
        moves = [(b.id, s) for b, s in zip(to_move, slots, strict=True)]
    # Move: first release the rows (holds=False) so that the guard sees the final layout.
    moving = [booking] + (list(to_move) if move_later else [])
    for b in moving:
        b.holds = False
    db.flush()
    booking.starts_at, booking.chair_id = starts_at, chosen
    booking.ends_at = starts_at + timedelta(minutes=rules.chair_time(booking.kind).total_min)
    if move_later:
        for (_, slot), b in zip(moves, to_move, strict=True):
            b.starts_at, b.ends_at, b.chair_id = slot.start, slot.end, slot.chair_id
    for b in moving:
        b.holds = True
        b.confirmed_at = None
    try:
        db.flush()
    except IntegrityError:
        raise BookingConflict(
            "the new time was booked meanwhile; search again", "starts_at"
        ) from None
    _remind(db, moving, now)
    for b in moving:
        record(db, actor, "update", "sched_booking", b.id, patient_id=b.patient_id)
    return MoveProposal(tuple(moves))


def _busy(b: Booking) -> Busy:
    return Busy(b.chair_id, b.patient_id, b.starts_at, b.ends_at, b.kind)


def cancel(
    db: Session,
    actor: Actor,
    now: datetime,
    booking: Booking,
    reason: str,
    no_show: bool = False,
) -> Booking:
    """Cancel a booking (or record a no-show) with a reason; the chair time is freed and the
    waitlist offered it."""
    reason = reason.strip()
    if not 1 <= len(reason) <= 500:
        raise BadRequest("give a reason (1 to 500 characters)", "reason")
    if booking.status not in (BookingStatus.booked, BookingStatus.checked_in):
        raise BadRequest(f"a {booking.status.value} booking cannot change", "booking_id")
    if no_show and booking.starts_at > now:
        raise BadRequest("a no-show is recorded after the booked time", "booking_id")
    booking.status = BookingStatus.no_show if no_show else BookingStatus.cancelled
    booking.holds = False
    booking.reason = reason
    for pending in db.scalars(
        select(Reminder).where(
            Reminder.booking_id == booking.id, Reminder.status == ReminderStatus.pending
        )
    ):
        pending.status = ReminderStatus.cancelled
    db.flush()
    record(db, actor, "update", "sched_booking", booking.id, patient_id=booking.patient_id)
    if not no_show:
        offer_freed(db, actor, now, booking)
    return booking


# --- waitlist -----------------------------------------------------------------------------


def join_waitlist(
    db: Session,
    actor: Actor,
    patient: Patient,
    site_id: int,
    kind: Kind,
    earliest: date,
    latest: date,
) -> WaitlistEntry:
    """Put ``patient`` on the site's waitlist between two local dates."""
    for name_, value in (("earliest", earliest), ("latest", latest)):
        if (why := dates.out_of_range(value)) is not None:
            raise BadRequest(why, name_)
    if latest < earliest:
        raise BadRequest("must be on or after earliest", "latest")
    queries.get_site(db, patient.clinic_id, site_id)
    entry = WaitlistEntry(
        clinic_id=patient.clinic_id,
        site_id=site_id,
        patient_id=patient.id,
        kind=kind,
        earliest=earliest,
        latest=latest,
    )
    db.add(entry)
    db.flush()
    record(db, actor, "create", "sched_waitlist", entry.id, patient_id=patient.id)
    return entry


def offer_freed(db: Session, actor: Actor, now: datetime, freed: Booking) -> WaitlistEntry | None:
    """Offer a freed chair time to the longest-waiting patient whose window contains it
    (same site and kind); the offer is recorded on the entry and the offers job sends it."""
    return offer_slot(
        db, actor, now, freed.site_id, freed.kind, freed.chair_id, freed.starts_at,
        exclude=(freed.patient_id,),
    )  # fmt: skip


def offer_slot(
    db: Session,
    actor: Actor,
    now: datetime,
    site_id: int,
    kind: Kind,
    chair_id: int,
    start: datetime,
    exclude: Sequence[int] = (),
) -> WaitlistEntry | None:
    """Offer one chair time to the longest-waiting patient of the site whose window contains
    its day (patients in ``exclude`` left out: the freed booking's, one who said no)."""
    day = start.date()
    stmt = (
        select(WaitlistEntry)
        .where(
            WaitlistEntry.site_id == site_id,
            WaitlistEntry.kind == kind,
            WaitlistEntry.status == WaitStatus.waiting,
            WaitlistEntry.earliest <= day + timedelta(days=1),
            WaitlistEntry.latest >= day - timedelta(days=1),
        )
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        .limit(1)
    )
    if exclude:
        stmt = stmt.where(WaitlistEntry.patient_id.not_in(list(exclude)))
    entry = db.scalars(stmt).first()
    if entry is None:
        return None
    entry.status = WaitStatus.offered
    entry.offered_chair_id = chair_id
    entry.offered_start = start
    entry.offered_at = now
    entry.offer_token_hash, entry.offer_sent_at = None, None
    entry.offer_attempts, entry.offer_error = 0, ""
    db.flush()
    record(db, actor, "update", "sched_waitlist", entry.id, patient_id=entry.patient_id)
    return entry


def issue_offer_link(db: Session, secret: str, entry: WaitlistEntry) -> str:
    """A new link token for the entry's offer (only its HMAC is stored)."""
    token = secrets.token_urlsafe(24)
    entry.offer_token_hash = token_hash(secret, f"offer:{token}")
    db.flush()
    return token


def offer_by_token(db: Session, secret: str, token: str) -> WaitlistEntry:
    """The waitlist entry of an offer link (404 for an unknown or replaced one)."""
    if not 10 <= len(token) <= 100:
        raise NotFound("this link is not valid")
    found = db.scalars(
        select(WaitlistEntry).where(
            WaitlistEntry.offer_token_hash == token_hash(secret, f"offer:{token}")
        )
    ).one_or_none()
    if found is None:
        raise NotFound("this link is not valid")
    return found


def answer_offer(
    db: Session,
    actor: Actor,
    now: datetime,
    entry: WaitlistEntry,
    take: bool,
    rules: FloorRules,
    default_tz: str,
    settings: Settings,
) -> str:
    """The patient's answer to an offer: ``taken`` (booked through every booking rule),
    ``gone`` (someone else was faster or a rule refuses: the patient keeps their place on the
    waitlist) or ``declined`` (the time is offered to the next patient)."""
    start, chair = entry.offered_start, entry.offered_chair_id
    if entry.status is not WaitStatus.offered or start is None or chair is None or start <= now:
        raise BadRequest("this offer has ended", "offer")
    patient = db.get(Patient, entry.patient_id)
    assert patient is not None
    entry.offer_token_hash = None  # one answer per link
    if not take:
        _back_to_waiting(entry)
        db.flush()
        record(db, actor, "update", "sched_waitlist", entry.id, patient_id=entry.patient_id)
        offer_slot(db, actor, now, entry.site_id, entry.kind, chair, start, (entry.patient_id,))
        return "declined"
    try:
        with db.begin_nested():
            book_one(
                db, actor, now, patient, entry.site_id, entry.kind, chair, start, rules,
                default_tz, settings=settings,
            )  # fmt: skip
    except KetacareError:
        _back_to_waiting(entry)
        db.flush()
        record(db, actor, "update", "sched_waitlist", entry.id, patient_id=entry.patient_id)
        return "gone"
    entry.status = WaitStatus.booked
    db.flush()
    record(db, actor, "update", "sched_waitlist", entry.id, patient_id=entry.patient_id)
    return "taken"


def _back_to_waiting(entry: WaitlistEntry) -> None:
    entry.status = WaitStatus.waiting
    entry.offered_chair_id = entry.offered_start = entry.offered_at = None
    entry.offer_token_hash = entry.offer_sent_at = None


# --- patient links (confirm, ask to reschedule, acknowledge instructions) -------------------


def token_hash(secret: str, token: str) -> str:
    """HMAC-SHA256 of a confirmation token under the secret key (what is stored)."""
    return hmac.new(secret.encode(), f"sched:{token}".encode(), hashlib.sha256).hexdigest()


def issue_link_for(db: Session, actor: Actor, secret: str, booking: Booking) -> str:
    """:func:`issue_link` asked by staff (audited as an update of the booking)."""
    token = issue_link(db, secret, booking)
    record(db, actor, "update", "sched_booking", booking.id, patient_id=booking.patient_id)
    return token


def issue_link(db: Session, secret: str, booking: Booking) -> str:
    """A new confirmation token for ``booking`` (replaces any earlier one)."""
    token = secrets.token_urlsafe(24)
    booking.confirm_token_hash = token_hash(secret, token)
    db.flush()
    return token


def booking_by_token(db: Session, secret: str, token: str) -> Booking:
    """The booking of a confirmation token (404 for an unknown or replaced one)."""
    if not 10 <= len(token) <= 100:
        raise NotFound("this link is not valid")
    found = db.scalars(
        select(Booking).where(Booking.confirm_token_hash == token_hash(secret, token))
    ).one_or_none()
    if found is None:
        raise NotFound("this link is not valid")
    return found


def answer_link(
    db: Session,
    actor: Actor,
    now: datetime,
    booking: Booking,
    confirm: bool,
    reschedule_request: bool,
    instructions: bool,
) -> Booking:
    """Record the patient's answer: confirm, ask to reschedule, acknowledge instructions."""
    if booking.status is not BookingStatus.booked or booking.starts_at < now:
        raise BadRequest("this booking can no longer be confirmed", "booking")
    if confirm:
        booking.confirmed_at = now
        booking.reschedule_requested_at = None
    if reschedule_request:
        booking.reschedule_requested_at = now
        booking.confirmed_at = None
    if instructions:
        booking.instructions_ack_at = now
    db.flush()
    record(db, actor, "update", "sched_booking", booking.id, patient_id=booking.patient_id)
    return booking


# --- the floor: check-in and opening the session -----------------------------------------


def check_in(db: Session, actor: Actor, booking: Booking) -> Booking:
    """The patient has arrived."""
    if booking.status is not BookingStatus.booked:
        raise BadRequest(f"a {booking.status.value} booking cannot be checked in", "booking_id")
    booking.status = BookingStatus.checked_in
    db.flush()
    record(db, actor, "update", "sched_booking", booking.id, patient_id=booking.patient_id)
    return booking


def open_session(db: Session, actor: Actor, booking: Booking, settings: Settings) -> int:
    """Open (or return) the treatment session of ``booking`` and link the two.

    The one call into the sessions feature: its charting rules (planned session choice,
    one open session per patient, role policy) stay there. The planned session is the
    booking's, else the one of the booking's local day.
    """
    from ketacare.features.sessions import rems_forms
    from ketacare.features.sessions.schemas import SessionCreate
    from ketacare.features.sessions.service import create_session

    if booking.session_id is not None:
        return booking.session_id
    if booking.status not in (BookingStatus.booked, BookingStatus.checked_in):
        raise BadRequest(f"a {booking.status.value} booking cannot start a session", "booking_id")
    patient = db.get(Patient, booking.patient_id)
    assert patient is not None and actor.user is not None
    tz = zone_name(db, booking.clinic_id, settings.timezone)
    body = SessionCreate(planned_session_id=booking.planned_session_id)
    today = booking.starts_at.astimezone(clinic_tz(None, tz)).date()
    session = create_session(
        db, actor.user, patient, body, today, settings.session_link_window_days, tz
    )
    rems_forms.ensure_form(
        db, session, settings.rems_setting_address, settings.rems_deadline_days, tz
    )
    record(db, actor, "create", "treatment_session", session.id, patient_id=patient.id)
    booking.session_id = session.id
    booking.status = BookingStatus.checked_in
    db.flush()
    record(db, actor, "update", "sched_booking", booking.id, patient_id=booking.patient_id)
    return session.id


# --- reminders ---------------------------------------------------------------------------------


def plan_reminders(
    db: Session, booking: Booking, patient: Patient, now: datetime, offsets_h: tuple[int, ...]
) -> list[Reminder]:
    """Pending reminders of ``booking`` (one per offset and channel the patient has),
    only those still in the future; earlier pending ones are cancelled."""
    for old in db.scalars(
        select(Reminder).where(
            Reminder.booking_id == booking.id, Reminder.status == ReminderStatus.pending
        )
    ):
        old.status = ReminderStatus.cancelled
    channels = [c for c, ok in (("email", patient.email), ("sms", patient.phone)) if ok]
    rows = []
    for hours in offsets_h:
        due = booking.starts_at - timedelta(hours=hours)
        if due <= now:
            continue
        for channel in channels:
            rows.append(
                Reminder(
                    clinic_id=booking.clinic_id, booking_id=booking.id, channel=channel, due_at=due
                )
            )
    db.add_all(rows)
    db.flush()
    return rows


def _remind(db: Session, rows: Sequence[Booking], now: datetime) -> None:
    """Plan the reminders of freshly booked or moved ``rows``."""
    from ketacare.features.scheduling.config import scheduling_settings

    offsets = scheduling_settings().reminder_offsets()
    for row in rows:
        patient = db.get(Patient, row.patient_id)
        assert patient is not None
        plan_reminders(db, row, patient, now, offsets)


def prescriber_cover(
    db: Session, clinic_id: int, start: datetime, end: datetime
) -> list[tuple[datetime, datetime, str]]:
    """The registered ``prescriber_cover`` hook: prescribers rostered on any of the clinic's
    sites between ``start`` and ``end`` (the REMS "prescriber on site" requirement)."""
    rows = queries.prescriber_shifts(db, clinic_id, start, end)
    return [(r.starts_at, r.ends_at, r.staff_name) for r in rows]
