"""Shared set-up of the scheduling tests: a clinic in New York time with one site."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from ketacare.domain.course.booking import StaffRole
from ketacare.features.auth.actor import Actor
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling import service
from ketacare.settings import Settings
from tests.conftest import make_clinic

NY = ZoneInfo("America/New_York")
#: Settings for service calls whose REMS gate is not under test (tests/rems tests it).
GATE_OFF = Settings(rems_gate_enforced=False)
MON = date(2030, 3, 4)  # a Monday, in the future of any test clock


def at(day: date, hh: int, mm: int = 0) -> datetime:
    """Local New York wall time as UTC."""
    return datetime.combine(day, time(hh, mm), tzinfo=NY).astimezone(UTC)


@dataclass
class World:
    clinic_id: int
    site_id: int
    chairs: list[int]
    patients: list[int]


def world(
    db: Session,
    chairs: int = 3,
    patients: int = 4,
    nurses: int = 2,
    days: int = 28,
    slug: str = "public",
    prescriber: bool = True,
) -> World:
    """A clinic (New York time), a REMS-certified site open Mon-Fri 08:00-18:00, chairs,
    patients and staff shifts 08:00-18:00 every weekday of ``days`` from MON; committed."""
    clinic = make_clinic(db, slug)
    clinic.timezone = "America/New_York"
    actor = Actor.cli(clinic.id)
    site = service.create_site(db, actor, clinic.id, "Main", "mon-fri 08:00-18:00", True)
    chair_ids = [service.add_chair(db, actor, site, f"Chair {i + 1}").id for i in range(chairs)]
    for d in range(days):
        day = MON + timedelta(days=d)
        if day.weekday() >= 5:
            continue
        for n in range(nurses):
            service.add_shift(
                db, actor, site, f"Nurse {n}", StaffRole.nurse, at(day, 8), at(day, 18)
            )
        if prescriber:
            service.add_shift(
                db, actor, site, "Dr P", StaffRole.prescriber, at(day, 8), at(day, 18)
            )
    pats = []
    for i in range(patients):
        p = Patient(
            clinic_id=clinic.id, given_name=f"P{i}", family_name="Test", email=f"p{i}@x.example"
        )
        db.add(p)
        db.flush()
        pats.append(p.id)
    db.commit()
    return World(clinic.id, site.id, chair_ids, pats)


def scheduling_objects(db: Session, clinic_id: int, patient_id: int) -> dict[str, str]:
    """A site, a chair and a booking of ``patient_id`` in the clinic (for the access
    matrix); their ids as path parameters."""
    from ketacare.domain.course.booking import Kind
    from ketacare.features.scheduling.models import Booking
    from ketacare.features.scheduling.queries import get_site

    actor = Actor.cli(clinic_id)
    site = service.create_site(db, actor, clinic_id, "Matrix site", "mon-fri 08:00-18:00", True)
    chair = service.add_chair(db, actor, site, "Chair 1")
    booking = Booking(
        clinic_id=clinic_id,
        site_id=site.id,
        chair_id=chair.id,
        patient_id=patient_id,
        kind=Kind.iv,
        starts_at=at(MON, 9),
        ends_at=at(MON, 11),
    )
    db.add(booking)
    db.commit()
    get_site(db, clinic_id, site.id)
    from ketacare.features.scheduling.models import CalendarFeed

    feed = CalendarFeed(clinic_id=clinic_id, site_id=site.id, token_hash="0" * 64)
    db.add(feed)
    db.flush()
    out = {"site_id": str(site.id), "booking_id": str(booking.id), "feed_id": str(feed.id)}
    db.commit()
    return out


class SmtpSink:
    """aiosmtpd handler that keeps every received mail (raw bytes)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.messages.append(envelope.content)
        return "250 OK"


def without_tokens(body: str) -> str:
    """A message's text with each link's random token replaced: a base64 token can spell a
    short word such as a test patient's name "P0" by chance (it did once in CI)."""
    return re.sub(r"/([bw])/[A-Za-z0-9_-]+", r"/\1/TOKEN", body)


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def smtp_server() -> Iterator[tuple[int, SmtpSink]]:
    """A local SMTP server (aiosmtpd in a thread) for the block: (port, sink)."""
    from aiosmtpd.controller import Controller

    sink = SmtpSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, sink
    finally:
        controller.stop()
