"""Schedule expansion (once, weekly, every N weeks, until, before each session) and link
creation: once per due time across runs, only a hash of the token stored, missed links."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features._kit.errors import BadRequest
from ketacare.features.auth.service import token_hash
from ketacare.features.outreach import service as outreach
from ketacare.features.outreach.models import Invitation, Recurrence, Schedule
from ketacare.settings import Settings
from tests.assessments.support import at, staff
from tests.conftest import SECRET, count

LEAD = timedelta(hours=24)


def _schedule(rec: Recurrence, start: date, weeks: int = 1, until: date | None = None) -> Schedule:
    return Schedule(recurrence=rec, start_date=start, interval_weeks=weeks, until_date=until)


def test_once_weekly_every_n_weeks_and_until() -> None:
    start = date(2025, 1, 6)
    once = _schedule(Recurrence.once, start)
    assert outreach.occurrences(once, at(2025, 1, 5), [], LEAD) == []
    assert outreach.occurrences(once, at(2026, 1, 1), [], LEAD) == [at(2025, 1, 6)]
    weekly = _schedule(Recurrence.weekly, start)
    assert outreach.occurrences(weekly, at(2025, 1, 20), [], LEAD) == [
        at(2025, 1, 6),
        at(2025, 1, 13),
        at(2025, 1, 20),
    ]
    every3 = _schedule(Recurrence.every_n_weeks, start, weeks=3, until=date(2025, 3, 10))
    due = outreach.occurrences(every3, at(2026, 1, 1), [], LEAD)
    assert due == [at(2025, 1, 6), at(2025, 1, 27), at(2025, 2, 17), at(2025, 3, 10)]
    ends_before = _schedule(Recurrence.every_n_weeks, start, weeks=3, until=date(2025, 3, 9))
    assert outreach.occurrences(ends_before, at(2026, 1, 1), [], LEAD)[-1] == at(2025, 2, 17)


def test_before_each_session() -> None:
    sessions = [at(2025, 1, 1), at(2025, 1, 8), at(2025, 1, 10), at(2025, 2, 1)]
    s = _schedule(Recurrence.before_session, date(2025, 1, 2), until=date(2025, 1, 31))
    # The session before the start is skipped, the one after "until" too; due 24 h before.
    assert outreach.occurrences(s, at(2025, 3, 1), sessions, LEAD) == [
        at(2025, 1, 7),
        at(2025, 1, 9),
    ]
    assert outreach.occurrences(s, at(2025, 1, 8), sessions, LEAD) == [at(2025, 1, 7)]


def test_schedule_validation(db: Session) -> None:
    st = staff(db)

    def make(**kw: object) -> None:
        args: dict[str, object] = {
            "instrument_id": "phq9",
            "recurrence": "weekly",
            "start_date": "2025-01-01",
        }
        args.update(kw)
        outreach.create_schedule(db, st.patient, outreach.ScheduleInput(**args), st.user.id)  # type: ignore[arg-type]

    cases: list[tuple[dict[str, object], str]] = [
        ({"instrument_id": "madrs"}, "instrument"),  # clinician-rated
        ({"instrument_id": "qids-sr16"}, "instrument"),  # item text not licensed
        ({"instrument_id": "nope"}, "instrument"),
        ({"recurrence": "daily"}, "recurrence"),
        ({"recurrence": "every_n_weeks", "interval_weeks": 0}, "interval_weeks"),
        ({"start_date": "01/02/2025"}, "start_date"),
        ({"until_date": "2024-12-31"}, "until_date"),
    ]
    for kw, field in cases:
        with pytest.raises(BadRequest) as exc:
            make(**kw)
        assert exc.value.field == field, kw
    db.rollback()
    assert count(db, Schedule) == 0


def test_dispatch_creates_each_link_once_and_stores_only_a_hash(
    db: Session, settings: Settings
) -> None:
    st = staff(db)
    today = date(2025, 3, 3)
    data = outreach.ScheduleInput("gad7", "every_n_weeks", "2025-02-03", 2)
    schedule = outreach.create_schedule(db, st.patient, data, st.user.id)
    db.commit()
    now = datetime.combine(today, datetime.min.time()).replace(tzinfo=at(2025, 1, 1).tzinfo)
    now += timedelta(hours=9)
    out = outreach.dispatch_due(db, settings, now)
    db.commit()
    # Due 02-03 and 02-17 (expired after 72 h: missed, not sent) and 03-03 (sent).
    assert [o.expires_at - timedelta(hours=72) for o in out] == [at(2025, 3, 3)]
    rows = list(db.execute(select(Invitation).order_by(Invitation.due_at)).scalars())
    db.commit()
    assert [(r.due_at, r.delivery) for r in rows] == [
        (at(2025, 2, 3), "missed"),
        (at(2025, 2, 17), "missed"),
        (at(2025, 3, 3), "pending"),
    ]
    token = out[0].url.rsplit("/", 1)[1]
    assert out[0].url == f"{settings.public_url}/a/{token}"
    assert rows[2].token_hash == token_hash(SECRET, token) != token
    assert all(token not in str(v) for r in rows for v in vars(r).values())
    # A second run (another worker, or the next tick) creates nothing new.
    assert outreach.dispatch_due(db, settings, now) == []
    db.commit()
    assert count(db, Invitation) == 3
    # Stopping the schedule expires its open link and creates no more.
    outreach.stop_schedule(db, db.get(Schedule, schedule.id), now)  # type: ignore[arg-type]
    db.commit()
    assert outreach.dispatch_due(db, settings, now + timedelta(weeks=4)) == []
    db.commit()


def test_dispatch_before_session_uses_the_session_source(db: Session, settings: Settings) -> None:
    st = staff(db)
    data = outreach.ScheduleInput("phq9", "before_session", "2025-01-01")
    outreach.create_schedule(db, st.patient, data, st.user.id)
    db.commit()
    sessions = [at(2025, 1, 10), at(2025, 1, 13)]
    out = outreach.dispatch_due(
        db, settings, at(2025, 1, 9, 12), sessions=lambda _db, _pid: sessions
    )
    db.commit()
    assert len(out) == 1 and out[0].expires_at == at(2025, 1, 12)
