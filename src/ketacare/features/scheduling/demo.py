"""The demo floor of ``ketacare demo seed`` (idempotent): one REMS-certified site open
Monday to Friday 08:00-18:00 (clinic time) with 6 chairs, and for 8 weeks from ``now`` two
nurse shifts and one prescriber shift each weekday (the demo nurse and clinician)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.course.booking import StaffRole
from ketacare.features._kit import clock
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role, User
from ketacare.features.clinics.models import Clinic
from ketacare.features.scheduling import service
from ketacare.features.scheduling.models import Site

WEEKS = 8


def seed_floor(db: Session, clinic: Clinic, default_tz: str, now: datetime) -> None:
    """Create the demo site, chairs and shifts unless the clinic has a site already."""
    db.flush()
    if db.scalars(select(Site.id).where(Site.clinic_id == clinic.id)).first() is not None:
        return
    actor = Actor.cli(clinic.id)
    site = service.create_site(db, actor, clinic.id, "Main floor", "mon-fri 08:00-18:00", True)
    for i in range(6):
        service.add_chair(db, actor, site, f"Chair {i + 1}")
    staff = {u.role: u for u in db.scalars(select(User).where(User.clinic_id == clinic.id))}
    tz = clock.clinic_tz(clinic, default_tz)
    today = clock.local_date(now, tz) or now.date()
    roster = (
        ("Demo nurse", StaffRole.nurse, staff.get(Role.nurse)),
        ("Second nurse", StaffRole.nurse, None),
        ("Demo clinician", StaffRole.prescriber, staff.get(Role.clinician)),
    )
    for d in range(WEEKS * 7):
        day = today + timedelta(days=d)
        if day.weekday() >= 5:
            continue
        starts = clock.from_local(datetime.combine(day, time(8)), tz)
        ends = clock.from_local(datetime.combine(day, time(18)), tz)
        for name, role, user in roster:
            service.add_shift(db, actor, site, name, role, starts, ends, user.id if user else None)
