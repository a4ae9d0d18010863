"""Clinic time (features/_kit/clock.py): store UTC, show and accept local time, across the
2026 US daylight-saving changes (America/New_York: 2026-03-08 02:00 -> 03:00 and
2026-11-01 02:00 -> 01:00)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ketacare.features._kit import clock
from ketacare.features.clinics.models import Clinic
from ketacare.settings import Settings
from tests.conftest import make_clinic
from tests.test_cli import cli_env, run

NY = "America/New_York"


def test_morning_after_spring_forward_round_trips() -> None:
    # 09:30 on the Monday after the change is EDT (UTC-4): 13:30 UTC, not 14:30.
    stored = clock.parse_local("2026-03-09T09:30", NY)
    assert stored == datetime(2026, 3, 9, 13, 30, tzinfo=UTC)
    assert clock.format_local(stored, NY) == "2026-03-09 09:30"
    assert clock.input_value(stored, NY) == "2026-03-09T09:30"
    # The same wall time the Friday before is EST (UTC-5).
    assert clock.parse_local("2026-03-06 09:30", NY) == datetime(2026, 3, 6, 14, 30, tzinfo=UTC)
    assert clock.tz_label(stored, NY) == "EDT"


def test_morning_after_fall_back_round_trips() -> None:
    stored = clock.parse_local("2026-11-02T09:30", NY)
    assert stored == datetime(2026, 11, 2, 14, 30, tzinfo=UTC)
    assert clock.format_local(stored, NY) == "2026-11-02 09:30"
    before = clock.parse_local("2026-10-31T09:30", NY)
    assert before == datetime(2026, 10, 31, 13, 30, tzinfo=UTC)


def test_skipped_time_is_refused_and_repeated_hour_is_the_first() -> None:
    with pytest.raises(clock.TimeError, match="does not exist"):
        clock.parse_local("2026-03-08T02:30", NY)
    assert clock.parse_local("2026-11-01T01:30", NY) == datetime(2026, 11, 1, 5, 30, tzinfo=UTC)


def test_local_day_of_dst_change_is_23_and_25_hours() -> None:
    start, end = clock.local_day_bounds(date(2026, 3, 8), NY)
    assert (end - start).total_seconds() == 23 * 3600
    start, end = clock.local_day_bounds(date(2026, 11, 1), NY)
    assert (end - start).total_seconds() == 25 * 3600
    assert start == datetime(2026, 11, 1, 4, 0, tzinfo=UTC)


def test_bad_input_names_the_problem() -> None:
    with pytest.raises(clock.TimeError, match="unknown time zone"):
        clock.zone("Mars/Olympus")
    with pytest.raises(clock.TimeError, match="unknown time zone"):
        clock.zone("../etc/passwd")
    with pytest.raises(clock.TimeError, match="not a date and time"):
        clock.parse_local("9:30 tomorrow", NY)
    with pytest.raises(clock.TimeError, match="year"):
        clock.parse_local("0201-03-09T09:30", NY)
    # An explicit offset is taken as that instant.
    assert clock.parse_local("2026-03-09T13:30Z", NY) == datetime(2026, 3, 9, 13, 30, tzinfo=UTC)


def test_clinic_tz_falls_back_to_the_setting() -> None:
    assert clock.clinic_tz(SimpleNamespace(timezone="Europe/Berlin"), NY).key == "Europe/Berlin"
    assert clock.clinic_tz(SimpleNamespace(timezone=None), NY).key == NY
    assert clock.clinic_tz(None).key == "UTC"


def test_timezone_setting_is_validated(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, secret_key="k", timezone=NY).timezone == NY
    with pytest.raises(ValidationError, match="unknown time zone"):
        Settings(data_dir=tmp_path, secret_key="k", timezone="Eastern Standard")


def test_cli_sets_and_unsets_the_clinic_timezone(
    database_url: str, engine: Engine, db: Session, tmp_path: Path
) -> None:
    make_clinic(db)
    db.commit()
    env = cli_env(database_url, tmp_path)
    r = run(env, "clinic", "set-timezone", "Mars/Olympus")
    assert r.returncode == 2 and "unknown time zone" in r.stderr and "Traceback" not in r.stderr
    r = run(env, "clinic", "set-timezone", NY, "--clinic", "nowhere")
    assert r.returncode == 2 and "--clinic" in r.stderr
    r = run(env, "clinic", "set-timezone", NY)
    assert r.returncode == 0, r.stderr
    db.expire_all()
    assert db.query(Clinic).one().timezone == NY
    db.commit()
    r = run(env, "clinic", "show")
    assert r.returncode == 0 and NY in r.stdout
    r = run(env, "clinic", "set-timezone", "default")
    assert r.returncode == 0 and "KETACARE_TIMEZONE" in r.stdout
    db.expire_all()
    assert db.query(Clinic).one().timezone is None


def test_ics_events_have_a_time_and_place_in_clinic_time_across_dst() -> None:
    from datetime import time, timedelta
    from zoneinfo import ZoneInfo

    from ketacare.domain.course.scheduling import Schedule
    from ketacare.domain.course.scheduling import Session as Planned
    from ketacare.features.intake.calendar import schedule_to_ics

    days = (date(2026, 3, 6), date(2026, 3, 9), date(2026, 11, 2))
    schedule = Schedule(
        "p",
        "1",
        days[0],
        tuple(Planned(i, d, "induction", 35.0, "35 mg") for i, d in enumerate(days, 1)),
    )
    text = schedule_to_ics(
        schedule,
        datetime(2026, 1, 1, tzinfo=UTC),
        start_time=time(9, 30),
        tz=ZoneInfo(NY),
        duration=timedelta(minutes=90),
        location="Demo Clinic, 1 Main St",
    )
    # 09:30 New York: EST before 8 March, EDT after, EST again after 1 November.
    assert "DTSTART:20260306T143000Z" in text and "DTEND:20260306T160000Z" in text
    assert "DTSTART:20260309T133000Z" in text
    assert "DTSTART:20261102T143000Z" in text
    assert text.count("LOCATION:Demo Clinic\\, 1 Main St") == 3
    assert "VALUE=DATE" not in text
