"""The session page's "N min since the dose" runs only while the patient is monitored: not
before the dose, and not once discharged (a signed session opened days later used to show
"1188573 min since the dose")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ketacare.features.sessions.models import TreatmentSession
from ketacare.features.sessions.pages import minutes_since_dose

T0 = datetime(2026, 3, 2, 14, 0, tzinfo=UTC)


def test_minutes_since_dose_only_while_monitored() -> None:
    s = TreatmentSession(route="esketamine")
    assert minutes_since_dose(s, T0) is None
    s.dose_start = T0
    assert minutes_since_dose(s, T0 + timedelta(minutes=41, seconds=59)) == 41
    s.last_device_at = T0 + timedelta(minutes=10)  # esketamine: from the last device
    assert minutes_since_dose(s, T0 + timedelta(minutes=50)) == 40
    s.discharged_at = T0 + timedelta(hours=2, minutes=5)
    assert minutes_since_dose(s, T0 + timedelta(days=800)) is None
