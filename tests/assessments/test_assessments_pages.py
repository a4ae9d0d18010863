"""Staff pages: schedule and score-entry forms, trajectories with bands and session markers,
the alert dashboard (open first, acknowledge with a note), the overdue list, licensing."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.domain.instruments import get_instrument
from ketacare.features.assessments.models import Alert, Assessment, Source
from ketacare.features.assessments.service import store_assessment
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.intake.models import IntakeRecord, PlannedSession, TreatmentPlan
from ketacare.features.outreach import service as outreach
from ketacare.features.outreach.models import Schedule
from ketacare.features.outreach.queries import planned_sessions
from ketacare.features.patients.models import Patient
from ketacare.settings import Settings
from tests.assessments.support import PHQ9_ITEM9_2, at, staff
from tests.conftest import count, csrf, login, make_user


def test_schedule_form_and_entry_form(client: TestClient, db: Session) -> None:
    st = staff(db)
    login(client, st.email)
    base = f"/patients/{st.pid}"
    assert f'href="/patients/{st.pid}/assessments"' in client.get(base).text
    token = csrf(client, f"{base}/assessments")
    bad = client.post(f"{base}/schedules", data={"instrument_id": "phq9", "recurrence":
                      "weekly", "start_date": "soon", "csrf_token": token})  # fmt: skip
    assert bad.status_code == 422 and "start_date" in bad.text
    ok = client.post(f"{base}/schedules", data={"instrument_id": "gad7", "recurrence":
                     "every_n_weeks", "interval_weeks": "3", "start_date": "2030-01-01",
                     "csrf_token": token})  # fmt: skip
    assert ok.status_code == 303
    assert "every 3 weeks" in client.get(f"{base}/assessments").text
    assert count(db, Schedule) == 1
    form = client.get(f"{base}/assessments/new?instrument=madrs")
    answers = {f"item_{i}": "2" for i in range(1, 11)}
    answers["item_4"] = "9"
    r = client.post(f"{base}/assessments/new", data={**answers, "instrument": "madrs",
                    "csrf_token": token})  # fmt: skip
    assert r.status_code == 422 and "Item 4" in r.text and "must be from 0 to 6" in r.text
    assert count(db, Assessment) == 0
    partial = {k: v for k, v in answers.items() if k not in ("item_3", "item_8", "item_10")}
    r = client.post(f"{base}/assessments/new", data={**partial, "instrument": "madrs",
                    "csrf_token": token})  # fmt: skip
    assert r.status_code == 422  # every unanswered MADRS item is named (issue 13.19)
    assert all(f"Item {n}" in r.text for n in (3, 8, 10)), r.text
    assert count(db, Assessment) == 0
    answers["item_4"] = "6"
    r = client.post(f"{base}/assessments/new", data={**answers, "instrument": "madrs",
                    "csrf_token": token})  # fmt: skip
    assert r.status_code == 303
    assert count(db, Assessment) == 1
    assert "MADRS" in client.get(f"{base}/assessments").text
    assert form.status_code == 200


def test_no_madrs_item_text_on_any_page(client: TestClient, db: Session) -> None:
    st = staff(db)
    login(client, st.email)
    inst = get_instrument("madrs")
    assert inst.licence.item_text == "withheld" and all(i.text is None for i in inst.items)
    patient = db.get(Patient, st.pid)
    assert patient is not None
    store_assessment(db, patient, "madrs", [4] * 10, Source.clinician, Actor(None, "api"))
    db.commit()
    form = client.get(f"/patients/{st.pid}/assessments/new?instrument=madrs").text
    legends = re.findall(r"<legend>(.*?)</legend>", form)
    assert legends == [f"{i.id}. {i.label}" for i in inst.items]  # short labels only
    options = re.findall(r'name="item_1" value="(\d)"[^>]*>\s*([^<]*)</label>', form)
    assert [label.strip() for _, label in options] == [str(n) for n in range(7)]  # no anchors
    pages = [form] + [
        client.get(u).text
        for u in (f"/patients/{st.pid}/assessments", f"/patients/{st.pid}/trajectories",
                  "/alerts", "/overdue")
    ]  # fmt: skip
    for page in pages:
        assert "licence" in page or "MADRS" in page or "Alerts" in page or "Overdue" in page
        for item in inst.items:
            # Anything past "<id>. <label>" would be item text; none is there.
            assert not re.search(rf"{re.escape(item.label)}\s*[:—-]\s*\w", page)


def test_trajectories_show_bands_and_points(client: TestClient, db: Session) -> None:
    st = staff(db)
    login(client, st.email)
    patient = db.get(Patient, st.pid)
    assert patient is not None
    start = utcnow() - timedelta(weeks=10)
    for w in range(10):
        store_assessment(db, patient, "phq9", [2] * 9 if w < 5 else [0] * 9, Source.clinician,
                         Actor(None, "api"), start + timedelta(weeks=w))  # fmt: skip
    db.commit()
    page = client.get(f"/patients/{st.pid}/trajectories")
    assert page.status_code == 200
    svg = page.text[page.text.index('id="chart-phq9"') :]
    assert svg.count('class="score"') == 10
    assert "Moderately severe" in svg and "Severe" in svg and "None/minimal" in svg
    assert "style=" not in svg  # CSP style-src 'self': presentation attributes only
    assert not re.search(r"<script(?![^>]*\bsrc=)", page.text)  # no inline script


def test_alert_dashboard_open_first_and_acknowledge(client: TestClient, db: Session) -> None:
    st = staff(db)
    nurse = make_user(db, st.clinic, Role.nurse)
    patient = db.get(Patient, st.pid)
    assert patient is not None
    store_assessment(db, patient, "phq9", [0] * 9, Source.clinician, Actor(None, "api"))
    _, alerts, _ = store_assessment(
        db, patient, "phq9", PHQ9_ITEM9_2, Source.clinician, Actor(None, "api")
    )
    db.commit()
    ids = [a.id for a in alerts]
    login(client, nurse.email)
    page = client.get("/alerts").text
    assert 'href="/alerts"' in page and 'href="/overdue"' in page
    assert page.index(f'id="alert-{ids[0]}"') < page.index(f'id="alert-{ids[1]}"')
    token = csrf(client, "/alerts")
    no_note = client.post(f"/alerts/{ids[0]}/acknowledge", data={"note": " ", "csrf_token": token})
    assert no_note.status_code == 422 and "required" in no_note.text
    r = client.post(
        f"/alerts/{ids[0]}/acknowledge", data={"note": "Phoned patient", "csrf_token": token}
    )
    assert r.status_code == 303
    page = client.get("/alerts").text
    done = page[page.index('id="done-alerts"') :]
    assert "Phoned patient" in done and nurse.email in done
    assert count(db, Alert) == 2
    patient_user = make_user(db, st.clinic, Role.patient)
    client.cookies.clear()
    login(client, patient_user.email)
    assert client.get("/alerts").status_code == 403
    assert client.get("/overdue").status_code == 403
    assert client.get(f"/patients/{st.pid}/trajectories").status_code == 403


def test_overdue_list(client: TestClient, db: Session) -> None:
    st = staff(db)
    other = staff(db, "other")
    login(client, st.email)
    assert "Nobody is overdue" in client.get("/overdue").text
    api = f"/api/v1/patients/{st.pid}/schedules"
    start = (utcnow() - timedelta(days=14)).date().isoformat()
    r = client.post(api, json={"instrument": "phq9", "recurrence": "weekly",
                    "start_date": start}, headers=st.headers)  # fmt: skip
    assert r.status_code == 201
    page = client.get("/overdue").text
    rows = re.findall(r"<tr><td><a href=\"/patients/(\d+)/assessments\">([^<]+)</a></td>"
                      r"<td>([^<]+)</td>.*?<td>(open|missed)</td>", page, re.S)  # fmt: skip
    assert [(int(p), n, i, s) for p, n, i, s in rows] == [
        (st.pid, "Example, Robin", "PHQ-9", "missed"),
        (st.pid, "Example, Robin", "PHQ-9", "missed"),
        (st.pid, "Example, Robin", "PHQ-9", "open"),
    ]
    assert client.get("/api/v1/overdue", headers=other.headers).json() == []
    # Stopping the schedule takes its links off the work queue.
    sid = r.json()["id"]
    assert client.delete(f"{api}/{sid}", headers=st.headers).status_code == 204
    assert client.get("/api/v1/overdue", headers=st.headers).json() == []


def test_planned_sessions_drive_links_and_chart_markers(
    client: TestClient, db: Session, settings: Settings
) -> None:
    st = staff(db)
    intake = IntakeRecord(clinic_id=st.clinic_id, patient_id=st.pid, version=1, document={})
    db.add(intake)
    db.flush()
    plan = TreatmentPlan(clinic_id=st.clinic_id, patient_id=st.pid, intake_id=intake.id,
                         protocol_id="iv-ketamine-induction", protocol_version="1", drug="ketamine",
                         route="iv", start_date=date(2025, 3, 3), weekdays="mon,thu")  # fmt: skip
    db.add(plan)
    db.flush()
    for n, day in enumerate([date(2025, 3, 3), date(2025, 3, 6), date(2025, 3, 10)], start=1):
        db.add(PlannedSession(plan_id=plan.id, number=n, day=day, phase="induction", route="iv"))
    db.commit()
    sessions = planned_sessions(db, st.pid)
    assert [s.date() for s in sessions] == [date(2025, 3, 3), date(2025, 3, 6), date(2025, 3, 10)]
    patient = db.get(Patient, st.pid)
    assert patient is not None
    data = outreach.ScheduleInput("phq9", "before_session", "2025-03-01")
    outreach.create_schedule(db, patient, data, st.uid)
    out = outreach.dispatch_due(db, settings, at(2025, 3, 5, 12))
    db.commit()
    # Due 24 h before each session day: 03-02 (expired by now: missed) and 03-05 (sent).
    assert len(out) == 1 and out[0].expires_at == at(2025, 3, 8)
    store_assessment(db, patient, "phq9", [1] * 9, Source.clinician, Actor(None, "api"),
                     at(2025, 3, 2))  # fmt: skip
    db.commit()
    login(client, st.email)
    page = client.get(f"/patients/{st.pid}/trajectories").text
    assert page.count('class="session"') == 3 and "Treatment session 2025-03-06" in page
    audited = db.execute(
        select(AuditEvent.resource_id).where(
            AuditEvent.action == "list", AuditEvent.resource == "assessment"
        )
    ).scalars()
    assert "trajectories" in list(audited)
    db.commit()
