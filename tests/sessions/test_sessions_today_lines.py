"""The session state's lines from measurement-based care: today's PHQ-9/C-SSRS results (by
time, the clinic's day only) and the patient's open alerts (oldest first), read in one
statement (features/sessions/state.py)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.sessions.support import install_clock, iso, setup


def test_today_lines_and_open_alerts(client: TestClient, app: FastAPI, db: Session) -> None:
    w = setup(db, "iv")
    install_clock(app)
    pid = w["patient_id"]

    def phq9(answers: list[int], at: str) -> dict[str, Any]:
        body = {"instrument": "phq9", "answers": answers, "completed_at": at}
        r = client.post(f"/api/v1/patients/{pid}/assessments", json=body, headers=w["clinician"])
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out

    phq9([0] * 9, iso(days=-1))  # yesterday: not one of today's lines
    later = phq9([1] * 9, iso(hours=-1))  # 08:00, item 9 answered: a safety alert
    earlier = phq9([2] * 8 + [0], iso(hours=-2))  # 07:00, stored second
    alerts = sorted(later["alerts"] + earlier["alerts"], key=lambda a: a["id"])
    assert alerts  # the rules raised at least one

    r = client.post(f"/api/v1/patients/{pid}/sessions", json={}, headers=w["nurse"])
    assert r.status_code == 201, r.text
    pre = r.json()["predose"]
    lines = pre["todays_assessments"]
    assert len(lines) == 2
    assert lines[0].startswith("PHQ-9: total 16 (") and lines[0].endswith(" at 07:00")
    assert lines[1].startswith("PHQ-9: total 9 (") and lines[1].endswith(" at 08:00")
    assert pre["open_alerts"] == [f"{a['level']}: {a['reason']}" for a in alerts]
    sid = r.json()["session"]["id"]
    again = client.get(f"/api/v1/sessions/{sid}", headers=w["nurse"]).json()["predose"]
    assert again["todays_assessments"] == lines and again["open_alerts"] == pre["open_alerts"]
