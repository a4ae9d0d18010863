"""The chair board and the session page apply the same floor rules to the same rows: the
board reads them as plain rows (``state.floor_states``), the page as ORM objects
(``state.build``); the due vitals and the discharge gate must agree, with its reasons, for
any mix of pre-dose and later readings and scale scores."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from ketacare.domain.sessions.safety import DEFAULT_SAFETY
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients.models import Patient
from ketacare.features.sessions import state
from ketacare.features.sessions.models import ScaleScore, VitalSign
from ketacare.settings import Settings
from tests.scheduling.support import world
from tests.sessions.support import T0, make_session


@pytest.mark.parametrize("seed", range(6))
def test_board_and_session_page_agree_on_due_vitals_and_discharge(
    db: Session, settings: Settings, seed: int
) -> None:
    rnd = random.Random(seed)
    w = world(db, chairs=3, patients=3)
    clinic = db.get(Clinic, w.clinic_id)
    assert clinic is not None
    sessions = []
    for i, pid in enumerate(w.patients):
        patient = db.get(Patient, pid)
        assert patient is not None
        s = make_session(db, clinic, patient, rnd.choice(["iv", "esketamine"]))
        s.dose_start = T0 + timedelta(minutes=rnd.randint(0, 30))
        s.dose_end = s.dose_start + timedelta(minutes=rnd.choice([10, 40]))
        if rnd.random() < 0.3:
            s.clinician_approved_at = s.dose_end + timedelta(minutes=rnd.randint(30, 90))
        for _ in range(rnd.randint(0, 8) if i else 0):
            minutes = rnd.randint(-20, 150)
            db.add(
                VitalSign(
                    session_id=s.id, at=T0 + timedelta(minutes=minutes), pre_dose=minutes < 0,
                    systolic=rnd.randint(95, 185), diastolic=rnd.randint(55, 115),
                    heart_rate=rnd.randint(50, 130), spo2=rnd.randint(88, 100),
                    resp_rate=rnd.choice([None, rnd.randint(8, 24)]),
                )
            )  # fmt: skip
        for _ in range(rnd.randint(0, 6) if i else 0):
            instrument = rnd.choice(["moaas", "cadss6", "cadss23"])
            minutes = rnd.randint(-20, 150)
            db.add(
                ScaleScore(
                    session_id=s.id, instrument_id=instrument, instrument_version="1",
                    timepoint="pre_dose" if minutes < 0 else str(minutes),
                    at=T0 + timedelta(minutes=minutes), answers={},
                    total=rnd.randint(1, 5) if instrument == "moaas" else rnd.randint(0, 20),
                )
            )  # fmt: skip
        sessions.append(s)
    # The first, an IV session charted cleanly: the gate also opens (the two must agree there).
    clean = sessions[0]
    clean.route, clean.dose_start, clean.dose_end = "iv", T0, T0 + timedelta(minutes=40)
    clean.clinician_approved_at = T0 + timedelta(minutes=100)
    for minutes in (-10, 60, 90):
        db.add(
            VitalSign(
                session_id=clean.id, at=T0 + timedelta(minutes=minutes), pre_dose=minutes < 0,
                systolic=120, diastolic=80, heart_rate=70, spo2=98, resp_rate=14,
            )
        )  # fmt: skip
    db.add(
        ScaleScore(
            session_id=clean.id, instrument_id="moaas", instrument_version="1", timepoint="90",
            at=T0 + timedelta(minutes=90), answers={}, total=5,
        )
    )  # fmt: skip
    db.commit()
    opened = 0
    for now in (T0 + timedelta(minutes=m) for m in (5, 45, 100, 160, 240)):
        floor = state.floor_states(db, sessions, DEFAULT_SAFETY, now)
        for s in sessions:
            page = state.build(db, s, settings, DEFAULT_SAFETY, now)
            assert floor[s.id].due == page.due, (seed, now, s.id)
            assert floor[s.id].discharge == page.discharge, (seed, now, s.id)
            opened += page.discharge.allowed
        db.rollback()
    assert opened >= 1  # the clean session's gate opened at some instant
