"""Pages show and accept the clinic's local time (America/New_York) and store UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.assessments.models import Assessment
from tests.assessments.support import staff
from tests.conftest import csrf, login

NY = "America/New_York"
PHQ9 = [1, 1, 1, 1, 1, 1, 1, 1, 0]


def _rate(client: TestClient, pid: int, when: str) -> int:
    form = {f"item_{i}": str(v) for i, v in enumerate(PHQ9, start=1)}
    form |= {"instrument": "phq9", "completed_at": when}
    form["csrf_token"] = csrf(client, f"/patients/{pid}/assessments")
    return client.post(f"/patients/{pid}/assessments/new", data=form).status_code


def test_rater_form_reads_and_shows_clinic_time_across_dst(client: TestClient, db: Session) -> None:
    w = staff(db)
    w.clinic.timezone = NY
    db.commit()
    login(client, w.email)
    # The morning after each 2026 change: EDT (UTC-4) in March, EST (UTC-5) in November.
    assert _rate(client, w.pid, "2026-03-09T09:30") == 303
    assert _rate(client, w.pid, "2026-11-02T09:30") == 303
    db.expire_all()
    stored = db.execute(select(Assessment.completed_at).order_by(Assessment.id)).scalars().all()
    db.commit()
    assert stored == [
        datetime(2026, 3, 9, 13, 30, tzinfo=UTC),
        datetime(2026, 11, 2, 14, 30, tzinfo=UTC),
    ]
    page = client.get(f"/patients/{w.pid}/assessments").text
    assert "2026-03-09 09:30" in page and "2026-11-02 09:30" in page
    assert "13:30" not in page and "14:30" not in page
    assert f"Times are clinic time: {NY}" in page
    # A time the clocks skip is refused, naming the field; the typed value is kept.
    r = client.post(
        f"/patients/{w.pid}/assessments/new",
        data={f"item_{i}": "1" for i in range(1, 10)}
        | {"instrument": "phq9", "completed_at": "2026-03-08T02:30", "csrf_token": csrf(client)},
    )
    assert r.status_code == 422
    assert "does not exist" in r.text and 'value="2026-03-08T02:30"' in r.text


def test_trajectory_labels_are_clinic_days(client: TestClient, db: Session) -> None:
    w = staff(db)
    w.clinic.timezone = NY
    db.commit()
    login(client, w.email)
    # 21:30 EDT on 9 March is 01:30 UTC on 10 March.
    assert _rate(client, w.pid, "2026-03-09T21:30") == 303
    page = client.get(f"/patients/{w.pid}/trajectories").text
    assert "<title>2026-03-09: 8" in page and "2026-03-10" not in page
    assert "1 assessment," in page and "1 assessments" not in page
