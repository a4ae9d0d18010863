"""The REMS gate on bookings (issue 19.1/19.2), on SQLite and PostgreSQL: an esketamine booking
is refused, with every reason and nothing stored, until the clinic's setting is certified and
the patient is enrolled by the booked day; IV bookings and a gate turned off are unaffected."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.domain.course.booking import FloorRules, Kind, Window
from ketacare.features.auth.actor import Actor
from ketacare.features.patients.models import Patient
from ketacare.features.rems import service as rems
from ketacare.features.scheduling import service
from ketacare.features.scheduling.models import Booking
from ketacare.settings import Settings
from tests.scheduling.support import GATE_OFF, MON, at, world

RULES = FloorRules()
NOW = at(MON, 7) - timedelta(days=7)
GATE_ON = Settings(rems_gate_enforced=True)
SETTING = rems.SettingInput(
    name="Main",
    certified=True,
    certified_on=MON - timedelta(days=30),
    authorised_representative="Ada Rep",
    acquisition_route="distributor",
    pulse_oximeter=True,
)


def bookings(db: Session) -> int:
    return db.scalar(select(func.count()).select_from(Booking)) or 0


def book(db: Session, patient: Patient, site_id: int, chair: int, kind: Kind, s: Settings) -> None:
    service.book_one(
        db, Actor.cli(patient.clinic_id), NOW, patient, site_id, kind, chair, at(MON, 9), RULES,
        "UTC", settings=s,
    )  # fmt: skip


def test_esketamine_booking_waits_for_certification_and_enrolment(db: Session) -> None:
    w = world(db)
    patient = db.get(Patient, w.patients[0])
    assert patient is not None
    actor = Actor.cli(w.clinic_id)
    with pytest.raises(rems.RemsRefused) as refused:
        book(db, patient, w.site_id, w.chairs[0], Kind.esketamine, GATE_ON)
    rules = {r.rule_id for r in refused.value.reasons}
    assert rules == {"rems.setting.registered", "rems.patient.enrolled"}
    assert refused.value.status_code == 409
    db.rollback()
    assert bookings(db) == 0
    # Certified, but the patient is enrolled only from the day after the booking.
    rems.save_setting(db, actor, w.clinic_id, SETTING, NOW)
    late = rems.EnrolmentInput(MON + timedelta(days=1), True, True, "Dr Pia Prescriber")
    rems.enrol(db, actor, patient, late, NOW)
    db.commit()
    with pytest.raises(rems.RemsRefused) as refused:
        book(db, patient, w.site_id, w.chairs[0], Kind.esketamine, GATE_ON)
    assert [r.rule_id for r in refused.value.reasons] == ["rems.patient.enrolled"]
    assert "enrolled from" in refused.value.reason
    db.rollback()
    # Enrolled by the booked day: the booking goes through.
    rems.enrol(db, actor, patient, rems.EnrolmentInput(MON, True, True, "Dr Pia"), NOW)
    book(db, patient, w.site_id, w.chairs[0], Kind.esketamine, GATE_ON)
    db.commit()
    assert bookings(db) == 1


def test_iv_and_gate_off_are_not_gated(db: Session) -> None:
    w = world(db)
    p0, p1 = (db.get(Patient, pid) for pid in w.patients[:2])
    assert p0 is not None and p1 is not None
    book(db, p0, w.site_id, w.chairs[0], Kind.iv, GATE_ON)
    book(db, p1, w.site_id, w.chairs[1], Kind.esketamine, GATE_OFF)
    db.commit()
    assert bookings(db) == 2


def test_a_course_is_refused_whole(db: Session) -> None:
    w = world(db)
    patient = db.get(Patient, w.patients[0])
    assert patient is not None
    ask = service.CourseAsk(
        w.site_id, Kind.esketamine, (MON, MON + timedelta(days=3)), 48.0, Window()
    )
    with pytest.raises(rems.RemsRefused):
        service.book_course(
            db, Actor.cli(w.clinic_id), NOW, patient, ask, RULES, "UTC", settings=GATE_ON
        )
    db.rollback()
    assert bookings(db) == 0
