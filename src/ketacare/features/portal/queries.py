"""Read queries of the portal (plain functions; the route modules import no SQLAlchemy)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ketacare.features._kit.links import spend_once
from ketacare.features.assessments.models import Assessment
from ketacare.features.auth.models import User
from ketacare.features.intake.models import PlanStatus, TreatmentPlan
from ketacare.features.patients.models import Patient
from ketacare.features.portal.models import PortalLink
from ketacare.features.scheduling.models import HOLDING, Booking, BookingStatus, Site


def user_with_email(db: Session, email: str) -> User | None:
    """The account with this (normalised) e-mail, if any."""
    return db.execute(select(User).where(User.email == email)).scalar_one_or_none()


def patients_with_email(db: Session, email: str, limit: int = 2) -> list[Patient]:
    """Up to ``limit`` patient records (of any clinic) whose e-mail is ``email`` (normalised;
    the record's is compared trimmed and lower-cased)."""
    stmt = (
        select(Patient)
        .where(func.lower(func.trim(Patient.email)) == email)
        .order_by(Patient.id)
        .limit(limit)
    )
    return list(db.execute(stmt).scalars())


def linked_patients(db: Session, user: User, limit: int = 2) -> list[Patient]:
    """The records linked to a patient account: by ``patient.user_id``, else those of its
    clinic with the account's e-mail (accounts made by staff before the portal)."""
    linked = list(
        db.execute(
            select(Patient).where(Patient.user_id == user.id).order_by(Patient.id).limit(limit)
        ).scalars()
    )
    if linked:
        return linked
    stmt = (
        select(Patient)
        .where(
            Patient.clinic_id == user.clinic_id,
            Patient.user_id.is_(None),
            func.lower(func.trim(Patient.email)) == user.email,
        )
        .order_by(Patient.id)
        .limit(limit)
    )
    return list(db.execute(stmt).scalars())


def link_by_hash(db: Session, token_hash: str) -> PortalLink | None:
    """The sign-in link with this token HMAC."""
    return db.execute(
        select(PortalLink).where(PortalLink.token_hash == token_hash)
    ).scalar_one_or_none()


def claim_link(db: Session, link_id: int, now: datetime) -> bool:
    """Mark a link used, once (a conditional UPDATE: a second follow finds it used)."""
    return spend_once(db, PortalLink, link_id, now)


def spend_other_links(db: Session, patient_id: int, now: datetime) -> None:
    """Mark the patient's other unused links used (one sign-in retires every earlier mail)."""
    db.execute(
        update(PortalLink)
        .where(PortalLink.patient_id == patient_id, PortalLink.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )


def upcoming_bookings(
    db: Session, patient_id: int, now: datetime, limit: int = 10
) -> list[tuple[Booking, str]]:
    """The patient's bookings still to come (holding a chair, not attended), with the site's
    name, soonest first."""
    stmt = (
        select(Booking, Site.name)
        .join(Site, Site.id == Booking.site_id)
        .where(
            Booking.patient_id == patient_id,
            Booking.ends_at > now,
            Booking.status.in_([s for s in HOLDING if s != BookingStatus.attended]),
        )
        .order_by(Booking.starts_at)
        .limit(limit)
    )
    return [(b, str(name)) for b, name in db.execute(stmt).all()]


def scored_assessments(db: Session, patient_id: int) -> Sequence[Assessment]:
    """The patient's complete assessments with a total, oldest first."""
    stmt = (
        select(Assessment)
        .where(Assessment.patient_id == patient_id, Assessment.total.is_not(None))
        .order_by(Assessment.completed_at, Assessment.id)
    )
    return db.execute(stmt).scalars().all()


def recent_assessments(db: Session, patient_id: int, since: datetime) -> Sequence[Assessment]:
    """The patient's assessments completed since ``since``, newest first."""
    stmt = (
        select(Assessment)
        .where(Assessment.patient_id == patient_id, Assessment.completed_at >= since)
        .order_by(Assessment.completed_at.desc(), Assessment.id.desc())
    )
    return db.execute(stmt).scalars().all()


def active_routes(db: Session, patient_id: int) -> set[str]:
    """The routes of the patient's active treatment plans."""
    stmt = select(TreatmentPlan.route).where(
        TreatmentPlan.patient_id == patient_id, TreatmentPlan.status == PlanStatus.active
    )
    return {str(r) for r in db.execute(stmt).scalars()}
