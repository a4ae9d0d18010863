"""Bookings beyond the approved prior-authorisation units or dates are flagged on the scheduling
day view (issue 20.3): the domain rule at its edges, the billing hook through the scheduling
service, and the page, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.billing.codes import (
    AuthWindow,
    PlannedVisit,
    booking_auth_flags,
    parse_booking_codes,
)
from ketacare.domain.course.booking import Kind
from ketacare.domain.rules import Reason
from ketacare.features.auth.actor import Actor
from ketacare.features.billing import service as billing
from ketacare.features.billing.models import BillingProfile
from ketacare.features.billing.service import AuthInput
from ketacare.features.scheduling import service as scheduling
from ketacare.features.scheduling.models import Booking
from tests.billing.support import signed, world
from tests.conftest import login
from tests.sessions.support import install_clock

G = frozenset({"G2082", "G2083"})
MAR = date(2025, 3, 1)


def rules_of(flags: dict[int, tuple[Reason, ...]]) -> dict[int, list[str]]:
    return {k: [r.rule_id for r in rs] for k, rs in flags.items()}


def visits(*days: date, route: str = "esketamine") -> list[PlannedVisit]:
    return [PlannedVisit(i, d, route) for i, d in enumerate(days)]  # type: ignore[arg-type]


def test_rule_edges() -> None:
    w = AuthWindow(G, 2, MAR, date(2025, 3, 31))
    # Units: the last unit goes to the earliest booking; the end date is inclusive.
    got = booking_auth_flags([(w, 1)], visits(date(2025, 3, 31), date(2025, 3, 30)))
    assert rules_of(got) == {0: ["AUTH-BOOKING-UNITS"]}
    # Before the start and after the end: dates; not yet approved: dates.
    got = booking_auth_flags([(w, 0)], visits(date(2025, 2, 28), date(2025, 4, 1)))
    assert rules_of(got) == {0: ["AUTH-BOOKING-DATES"], 1: ["AUTH-BOOKING-DATES"]}
    pending = AuthWindow(G, 2, MAR, date(2025, 3, 31), status="requested")
    assert rules_of(booking_auth_flags([(pending, 0)], visits(MAR))) == {0: ["AUTH-BOOKING-DATES"]}
    # A second authorisation takes over when the first is used up; open ends and units.
    open_ended = AuthWindow(G, None, None, None)
    assert booking_auth_flags([(w, 2), (open_ended, 5)], visits(MAR, MAR)) == {}
    # Another route's authorisation does not flag (nor cover) IV bookings.
    assert booking_auth_flags([(w, 2)], visits(MAR, route="iv")) == {}
    iv = AuthWindow(frozenset({"96365"}), 1, MAR, None)
    assert rules_of(booking_auth_flags([(iv, 1)], visits(MAR, route="iv"))) == {
        0: ["AUTH-BOOKING-UNITS"]
    }
    # The clinic's own booking codes [U] (billing profile): an IV booking that draws on 96366
    # only is not covered by (nor flagged against) a 96365 authorisation.
    own = parse_booking_codes("iv=96366")
    assert booking_auth_flags([(iv, 1)], visits(MAR, route="iv"), own) == {}


def test_day_view_flags_bookings_beyond_the_approval(
    app: FastAPI, client: TestClient, db: Session
) -> None:
    w = world(db)
    billing.add_prior_auth(db, Actor.cli(w.clinic.id), w.patient, AuthInput(
        payer_id=w.payer.id, codes="G2082,G2083", requested_on=date(2025, 2, 20),
        status="approved", auth_number="PA-1", approved_units=2,
        start_date=MAR, end_date=date(2025, 4, 10),
    ), datetime(2025, 2, 20, tzinfo=UTC))  # fmt: skip
    db.commit()
    signed(db, w, date(2025, 3, 3))  # new patient: no G-code, no unit
    signed(db, w, date(2025, 3, 6))  # one unit used, one left
    actor = Actor.cli(w.clinic.id)
    site = scheduling.create_site(db, actor, w.clinic.id, "Main", "mon-sun 08:00-18:00", True)
    chair = scheduling.add_chair(db, actor, site, "Chair 1")
    rows = []
    for day in (date(2025, 3, 20), date(2025, 3, 24), date(2025, 4, 14)):
        start = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=14)
        rows.append(Booking(
            clinic_id=w.clinic.id, site_id=site.id, chair_id=chair.id, patient_id=w.patient.id,
            kind=Kind.esketamine, starts_at=start, ends_at=start + timedelta(hours=2),
        ))  # fmt: skip
    db.add_all(rows)
    db.commit()
    now = datetime(2025, 3, 10, 12, tzinfo=UTC)
    flags = scheduling.booking_flags(db, w.clinic.id, rows, now, "UTC")
    assert rows[0].id not in flags
    assert "[AUTH-BOOKING-UNITS]" in flags[rows[1].id][0]
    assert "[AUTH-BOOKING-DATES]" in flags[rows[2].id][0]
    # Past bookings are not flagged; another clinic sees none of the patient's authorisations.
    assert scheduling.booking_flags(db, w.clinic.id, rows, now + timedelta(days=60), "UTC") == {}
    assert scheduling.booking_flags(db, w.clinic.id + 999, rows, now, "UTC") == {}
    # The clinic's billing profile names the codes a booking draws on [U]: with other codes
    # for esketamine the G-code authorisation no longer applies, so nothing is flagged.
    profile = db.scalars(select(BillingProfile)).one()
    profile.booking_codes = "esketamine=J0013"
    db.commit()
    assert scheduling.booking_flags(db, w.clinic.id, rows, now, "UTC") == {}
    profile.booking_codes = ""
    db.commit()
    # The day view shows the flag as text (not colour only).
    install_clock(app, now)
    login(client, w.nurse.email)
    r = client.get(f"/scheduling/sites/{site.id}/day?day=2025-03-24")
    assert r.status_code == 200
    assert "Prior authorisation:</strong> Beyond the approved units" in r.text
    r = client.get(f"/scheduling/sites/{site.id}/day?day=2025-03-20")
    assert r.status_code == 200 and "Prior authorisation:" not in r.text


def test_flags_read_the_signed_sessions_once_per_patient_and_payer(db: Session) -> None:
    """Statements do not grow with the number of a patient's authorisations (they re-read
    every signed session per authorisation before)."""
    from sqlalchemy import event

    w = world(db)
    actor = Actor.cli(w.clinic.id)
    for day in (date(2025, 3, 3), date(2025, 3, 6)):
        signed(db, w, day)
    site = scheduling.create_site(db, actor, w.clinic.id, "Main", "mon-sun 08:00-18:00", True)
    chair = scheduling.add_chair(db, actor, site, "Chair 1")
    start = datetime(2025, 3, 24, 14, tzinfo=UTC)
    booking = Booking(
        clinic_id=w.clinic.id, site_id=site.id, chair_id=chair.id, patient_id=w.patient.id,
        kind=Kind.esketamine, starts_at=start, ends_at=start + timedelta(hours=2),
    )  # fmt: skip
    db.add(booking)
    db.commit()
    now = datetime(2025, 3, 10, 12, tzinfo=UTC)

    def statements() -> int:
        seen: list[str] = []

        def count(*args: object) -> None:
            seen.append(str(args[2]))

        db.refresh(w.clinic)  # loaded here, not counted (the commit above expired them)
        db.refresh(booking)
        engine = db.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            scheduling.booking_flags(db, w.clinic.id, [booking], now, "UTC")
        finally:
            event.remove(engine, "before_cursor_execute", count)
        db.rollback()
        return len(seen)

    counts = []
    for n in range(1, 5):
        billing.add_prior_auth(db, actor, w.patient, AuthInput(
            payer_id=w.payer.id, codes="G2082,G2083", requested_on=date(2025, 2, 20 + n),
            status="approved", auth_number=f"PA-{n}", approved_units=1,
            start_date=MAR, end_date=date(2025, 4, 10),
        ), datetime(2025, 2, 20, tzinfo=UTC))  # fmt: skip
        db.commit()
        counts.append(statements())
    assert counts[0] > 0 and len(set(counts)) == 1, counts
