"""The REMS form's treatment date is the clinic's local date, not the UTC one."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy.orm import Session

from ketacare.features.sessions import closing, rems_forms, state
from ketacare.features.sessions.config import safety_config
from ketacare.settings import Settings
from tests.assessments.support import make_patient
from tests.conftest import make_clinic
from tests.sessions.support import make_session


def test_rems_treatment_date_is_the_clinic_day(db: Session, settings: Settings) -> None:
    clinic = make_clinic(db)
    patient = make_patient(db, clinic)
    s = make_session(db, clinic, patient)
    # 21:30 EDT on Sunday 8 March 2026 (the day the clocks went forward) is 01:30 UTC Monday.
    s.dose_start = datetime(2026, 3, 9, 1, 30, tzinfo=UTC)
    db.flush()
    now = datetime(2026, 3, 9, 3, 0, tzinfo=UTC)
    st = state.build(db, s, settings, safety_config(settings), now)
    form = closing.rems_form(db, s)
    assert rems_forms.values(db, st, form)["treatment_date"] == "2026-03-09"
    clinic.timezone = "America/New_York"
    db.flush()
    assert rems_forms.values(db, st, form)["treatment_date"] == "2026-03-08"
    clinic.timezone = None
    assert rems_forms.values(db, st, form, "America/New_York")["treatment_date"] == "2026-03-08"
    db.commit()


def test_rems_deadline_counts_from_the_clinic_day(db: Session, settings: Settings) -> None:
    clinic = make_clinic(db)
    clinic.timezone = "America/New_York"
    patient = make_patient(db, clinic)
    s = make_session(db, clinic, patient)
    s.dose_start = datetime(2026, 3, 9, 1, 30, tzinfo=UTC)  # Sunday 8 March, 21:30 EDT
    form = rems_forms.ensure_form(db, s, days=7)
    db.commit()
    assert form is not None and form.deadline == date(2026, 3, 15)
