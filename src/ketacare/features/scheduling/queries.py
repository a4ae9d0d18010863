"""Scheduling queries (plain functions): sites, floors, bookings."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from ketacare.domain.course.booking import Busy, Floor, Shift, StaffRole
from ketacare.features._kit.errors import NotFound
from ketacare.features.clinics.models import Clinic
from ketacare.features.intake.models import PlanStatus, TreatmentPlan
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling.models import (
    HOLDING,
    Booking,
    Chair,
    Closure,
    Site,
    StaffShift,
    WaitlistEntry,
    WaitStatus,
)
from ketacare.features.sessions.models import TreatmentSession


def get_site(db: Session, clinic_id: int, site_id: int, lock: bool = False) -> Site:
    """The site in the clinic (404 otherwise); ``lock``: hold its row until commit."""
    stmt = select(Site).where(Site.id == site_id, Site.clinic_id == clinic_id)
    if lock:
        stmt = stmt.with_for_update()
    site = db.scalars(stmt).one_or_none()
    if site is None:
        raise NotFound("no such site", "site_id")
    return site


def board_site(db: Session, clinic_id: int, site_id: int) -> tuple[Site, Clinic, list[Chair]]:
    """The site in the clinic, the clinic (for its time zone) and the site's active chairs by
    name, in one statement (404 if the site is not the clinic's): the chair board reads all
    three on every refresh."""
    stmt = (
        select(Site, Clinic, Chair)
        .join(Clinic, Clinic.id == Site.clinic_id)
        .outerjoin(Chair, and_(Chair.site_id == Site.id, Chair.active))
        .where(Site.id == site_id, Site.clinic_id == clinic_id)
        .order_by(Chair.name, Chair.id)
    )
    rows = db.execute(stmt).all()
    if not rows:
        raise NotFound("no such site", "site_id")
    chairs: list[Chair | None] = [row[2] for row in rows]  # None: a site without chairs
    return rows[0][0], rows[0][1], [chair for chair in chairs if chair is not None]


def board_bookings(
    db: Session, site_id: int, start: datetime, end: datetime
) -> list[tuple[Booking, str, TreatmentSession | None]]:
    """The site's holding bookings that start in [start, end), by start, each with the
    patient's name and its session (if one was opened from it): one statement for the chair
    board (it read bookings, sessions and patients in three)."""
    stmt = (
        select(Booking, Patient.given_name, Patient.family_name, TreatmentSession)
        .join(Patient, Patient.id == Booking.patient_id)
        .outerjoin(TreatmentSession, TreatmentSession.id == Booking.session_id)
        .where(
            Booking.site_id == site_id,
            Booking.status.in_(HOLDING),
            Booking.starts_at >= start,
            Booking.starts_at < end,
        )
        .order_by(Booking.starts_at, Booking.id)
    )
    return [(b, f"{given} {family}", s) for b, given, family, s in db.execute(stmt)]


def list_sites(db: Session, clinic_id: int) -> Sequence[Site]:
    """The clinic's sites by name."""
    return db.scalars(select(Site).where(Site.clinic_id == clinic_id).order_by(Site.name)).all()


def list_chairs(db: Session, site_id: int) -> Sequence[Chair]:
    """The site's active chairs by name."""
    stmt = (
        select(Chair).where(Chair.site_id == site_id, Chair.active).order_by(Chair.name, Chair.id)
    )
    return db.scalars(stmt).all()


def get_booking(db: Session, clinic_id: int, booking_id: int, lock: bool = False) -> Booking:
    """The booking in the clinic (404 otherwise)."""
    stmt = select(Booking).where(Booking.id == booking_id, Booking.clinic_id == clinic_id)
    if lock:
        stmt = stmt.with_for_update()
    booking = db.scalars(stmt).one_or_none()
    if booking is None:
        raise NotFound("no such booking", "booking_id")
    return booking


def site_hours(site: Site) -> dict[int, tuple[time, time]]:
    """The stored opening hours as weekday -> (opens, closes)."""
    out = {}
    for day, (opens, closes) in site.hours.items():
        out[int(day)] = (time.fromisoformat(opens), time.fromisoformat(closes))
    return out


def load_floor(
    db: Session,
    site: Site,
    tz: str,
    start: datetime,
    end: datetime,
    exclude: Sequence[int] = (),
    patient_id: int | None = None,
) -> Floor:
    """The site's floor between ``start`` and ``end``: chairs, closures, shifts, bookings.

    The patient's holding bookings at any site count too (a patient is in one place at a
    time); ``exclude`` leaves bookings out (those being moved).
    """
    chairs = tuple(c.id for c in list_chairs(db, site.id))
    closures = frozenset(
        db.scalars(
            select(Closure.day).where(
                Closure.site_id == site.id,
                Closure.day >= start.date() - timedelta(days=1),
                Closure.day <= end.date() + timedelta(days=1),
            )
        ).all()
    )
    # Plain rows, not ORM objects: a month of a 15-person roster is hundreds of shifts.
    shifts = tuple(
        Shift(row.id, StaffRole(row.role), row.starts_at, row.ends_at)
        for row in db.execute(
            select(StaffShift.id, StaffShift.role, StaffShift.starts_at, StaffShift.ends_at).where(
                StaffShift.site_id == site.id,
                StaffShift.ends_at > start,
                StaffShift.starts_at < end,
            )
        )
    )
    at_site = Booking.site_id == site.id
    if patient_id is not None:
        at_site = at_site | (Booking.patient_id == patient_id)
    rows = db.execute(
        select(
            Booking.id,
            Booking.chair_id,
            Booking.patient_id,
            Booking.starts_at,
            Booking.ends_at,
            Booking.kind,
            Booking.site_id,
        ).where(at_site, Booking.holds, Booking.ends_at > start, Booking.starts_at < end)
    ).all()
    bookings = []
    for row in rows:
        if row.id in exclude:
            continue
        # Another site's booking of the patient: a chair id no chair here has.
        chair = row.chair_id if row.site_id == site.id else -row.id
        bookings.append(Busy(chair, row.patient_id, row.starts_at, row.ends_at, row.kind))
    return Floor(
        tz=tz,
        hours=site_hours(site),
        chairs=chairs,
        closures=closures,
        shifts=shifts,
        bookings=tuple(bookings),
        rems_certified=site.rems_certified,
    )


def bookings_between(
    db: Session, clinic_id: int, site_id: int | None, start: datetime, end: datetime
) -> Sequence[Booking]:
    """The clinic's bookings (all states) starting in [start, end), by start and chair."""
    stmt = select(Booking).where(
        Booking.clinic_id == clinic_id, Booking.starts_at >= start, Booking.starts_at < end
    )
    if site_id is not None:
        stmt = stmt.where(Booking.site_id == site_id)
    return db.scalars(stmt.order_by(Booking.starts_at, Booking.chair_id)).all()


def unconfirmed_between(
    db: Session, clinic_id: int, start: datetime, end: datetime
) -> Sequence[Booking]:
    """The clinic's holding bookings starting in [start, end) the patient has not confirmed."""
    stmt = select(Booking).where(
        Booking.clinic_id == clinic_id,
        Booking.status.in_(HOLDING),
        Booking.confirmed_at.is_(None),
        Booking.starts_at >= start,
        Booking.starts_at < end,
    )
    return db.scalars(stmt.order_by(Booking.starts_at, Booking.chair_id)).all()


def open_waitlist(db: Session, clinic_id: int) -> Sequence[WaitlistEntry]:
    """The clinic's waitlist entries still waiting or holding an offer, longest waiting first."""
    stmt = select(WaitlistEntry).where(
        WaitlistEntry.clinic_id == clinic_id,
        WaitlistEntry.status.in_((WaitStatus.waiting, WaitStatus.offered)),
    )
    return db.scalars(stmt.order_by(WaitlistEntry.created_at, WaitlistEntry.id)).all()


def patient_bookings(db: Session, clinic_id: int, patient_id: int) -> Sequence[Booking]:
    """A patient's bookings (all states) by start."""
    stmt = select(Booking).where(Booking.clinic_id == clinic_id, Booking.patient_id == patient_id)
    return db.scalars(stmt.order_by(Booking.starts_at)).all()


def later_bookings(db: Session, booking: Booking) -> Sequence[Booking]:
    """The patient's holding bookings of the same plan after ``booking``."""
    stmt = select(Booking).where(
        Booking.patient_id == booking.patient_id,
        Booking.holds,
        Booking.starts_at > booking.starts_at,
        Booking.id != booking.id,
    )
    if booking.plan_id is not None:
        stmt = stmt.where(Booking.plan_id == booking.plan_id)
    return db.scalars(stmt.order_by(Booking.starts_at)).all()


def active_plans(db: Session, patient_id: int) -> Sequence[TreatmentPlan]:
    """The patient's active treatment plan(s)."""
    stmt = select(TreatmentPlan).where(
        TreatmentPlan.patient_id == patient_id, TreatmentPlan.status == PlanStatus.active
    )
    return db.scalars(stmt).all()


def patient_reported(db: Session, session_id: int) -> list[tuple[str, datetime]]:
    """What the patient reported through the booking link of the session's booking (to show
    in the session's pre-dose checklist as patient-reported; the nurse still verifies)."""
    booking = db.scalars(select(Booking).where(Booking.session_id == session_id)).first()
    if booking is None:
        return []
    out = []
    if booking.confirmed_at is not None:
        out.append(("confirmed the visit", booking.confirmed_at))
    if booking.instructions_ack_at is not None:
        what = (
            "no food for 2 h and no liquids for 30 min before; a ride home; no driving until "
            "the next day"
            if booking.kind.value == "esketamine"
            else "the clinic's fasting advice; a ride home"
        )
        out.append(
            (f"acknowledged the pre-visit instructions ({what})", booking.instructions_ack_at)
        )
    return out


def session_page_context(db: Session, session_id: int) -> dict[str, object]:
    """The registered ``session_page`` hook: the booking link's patient-reported answers."""
    return {"patient_reported": patient_reported(db, session_id)}


def patients_by_id(db: Session, clinic_id: int, ids: Sequence[int]) -> dict[int, Patient]:
    """The clinic's patients of ``ids`` (one statement)."""
    if not ids:
        return {}
    stmt = select(Patient).where(Patient.clinic_id == clinic_id, Patient.id.in_(list(ids)))
    return {p.id: p for p in db.scalars(stmt)}


def booking_place(db: Session, booking: Booking) -> tuple[Site | None, Clinic | None]:
    """The site and clinic of a booking (the patient's link page)."""
    return place_of(db, booking.site_id, booking.clinic_id)


def place_of(db: Session, site_id: int, clinic_id: int) -> tuple[Site | None, Clinic | None]:
    """A site and its clinic (the patient's link pages)."""
    return db.get(Site, site_id), db.get(Clinic, clinic_id)


def prescriber_shifts(
    db: Session, clinic_id: int, start: datetime, end: datetime
) -> Sequence[StaffShift]:
    """The clinic's prescriber shifts overlapping ``[start, end)``."""
    stmt = select(StaffShift).where(
        StaffShift.clinic_id == clinic_id,
        StaffShift.role == StaffRole.prescriber,
        StaffShift.starts_at < end,
        StaffShift.ends_at > start,
    )
    return db.scalars(stmt.order_by(StaffShift.starts_at)).all()
