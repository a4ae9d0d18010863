"""The baseline of the worsening alert (``KETACARE_OUTCOME_BASELINE``) on both databases: the
last score at or before the first charted dose by default, the earliest when configured, the
earliest as the fallback, every storing route passing the setting, and the reads it costs."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.assessments.baseline import history
from ketacare.features.assessments.models import Alert, Source
from ketacare.features.assessments.service import store_assessment
from ketacare.features.auth.actor import Actor
from ketacare.features.outreach import service as outreach
from ketacare.features.patients.models import Patient
from ketacare.settings import OutcomeBaseline, Settings
from ketacare.web.app import create_app
from tests.assessments.support import staff
from tests.conftest import csrf, login, scalar
from tests.sessions.support import CADSS6_ZERO, CHECKLIST_OK, T0, install_clock, setup

DOSE = T0  # the first dose, charted through the session API on the sessions' test clock
PHQ9 = {
    8: [1, 1, 1, 1, 1, 1, 1, 1, 0],
    12: [2, 2, 2, 2, 2, 2, 0, 0, 0],
    13: [2, 2, 2, 2, 2, 2, 1, 0, 0],
    14: [2, 2, 2, 2, 2, 2, 2, 0, 0],
    17: [3, 3, 3, 2, 2, 2, 2, 0, 0],
    18: [3, 3, 3, 3, 2, 2, 2, 0, 0],
    19: [3, 3, 3, 3, 3, 2, 2, 0, 0],
    20: [3, 3, 3, 3, 3, 3, 2, 0, 0],
}  # item 9 always 0: no item-9 alert


def start_session(client: TestClient, app: FastAPI, w: dict[str, Any]) -> str:
    """An esketamine session charted up to its pre-dose checks; returns its API path."""
    w["clock"] = install_clock(app)
    nurse = w["nurse"]
    r = client.post(
        f"/api/v1/patients/{w['patient_id']}/sessions", json={"lot": "L1"}, headers=nurse
    )
    assert r.status_code == 201, r.text
    base = f"/api/v1/sessions/{r.json()['session']['id']}"
    assert client.put(f"{base}/checklist", json=CHECKLIST_OK, headers=nurse).status_code == 200
    for instrument, extra in (("moaas", {"answers": {"1": 5}}), ("cadss6", CADSS6_ZERO)):
        body = {"instrument": instrument, "timepoint": "pre_dose", **extra}
        assert client.post(f"{base}/scales", json=body, headers=nurse).status_code == 201
    return base


def give_dose(client: TestClient, base: str, w: dict[str, Any]) -> None:
    """Record the session's dose at DOSE."""
    r = client.post(f"{base}/dose", json={"given_dose_mg": 56}, headers=w["nurse"])
    assert r.status_code == 200, r.text
    assert r.json()["session"]["dose_start"] == DOSE.isoformat()


def phq9(client: TestClient, w: dict[str, Any], total: int, days: float) -> dict[str, str]:
    """Store a PHQ-9 of ``total`` ``days`` after DOSE through the API; its alerts' reasons."""
    when = (DOSE + timedelta(days=days)).isoformat()
    clock = w.get("clock")
    held = clock.now if clock is not None else None
    if clock is not None:  # the app's one clock: entered a year later, dated ``when``
        clock.now = DOSE + timedelta(days=365)
    r = client.post(
        f"/api/v1/patients/{w['patient_id']}/assessments",
        json={"instrument": "phq9", "answers": PHQ9[total], "completed_at": when},
        headers=w["clinician"],
    )
    if clock is not None:
        clock.now = held
    assert r.status_code == 201, r.text
    assert r.json()["total"] == total
    return {a["rule_id"]: a["reason"] for a in r.json()["alerts"]}


def test_default_rule(settings: Settings) -> None:
    assert Settings.model_fields["outcome_baseline"].default == "before_first_dose"
    assert settings.outcome_baseline == "before_first_dose"


@pytest.mark.parametrize(("rule", "raised"), [("before_first_dose", True), ("earliest", False)])
def test_worsening_from_the_configured_baseline(
    db: Session, settings: Settings, rule: str, raised: bool
) -> None:
    w = setup(db)
    app = create_app(settings.model_copy(update={"outcome_baseline": rule}))
    with TestClient(app, follow_redirects=False) as client:
        give_dose(client, start_session(client, app, w), w)
        phq9(client, w, 20, -90)  # screening, months before
        phq9(client, w, 14, -7)  # the week before the first dose
        after = phq9(client, w, 19, 7)  # 19 - 14 = 5 >= MCID 5; 19 vs 20 is better
        assert ("worsening.mcid" in after) is raised
        if raised:
            assert after["worsening.mcid"] == (
                "PHQ-9 19 is 5 points worse than baseline 14 (last score at or before the first "
                "dose, 2025-03-03; MCID 5)."
            )
        # A score from before the dose, entered late: no treatment baseline yet, so the
        # earliest (20) under either rule, not the pre-dose 14.
        assert "worsening.mcid" not in phq9(client, w, 19, -3)


def test_earliest_until_a_dose_precedes_the_scores(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = setup(db)
    base = start_session(client, app, w)  # charted, no dose yet
    phq9(client, w, 12, 1)
    phq9(client, w, 8, 2)
    assert "worsening.mcid" not in phq9(client, w, 13, 3)  # from the earliest 12, not 8
    assert phq9(client, w, 17, 4)["worsening.mcid"] == (
        "PHQ-9 17 is 5 points worse than baseline 12 (earliest score: no dose charted before "
        "this score; MCID 5)."
    )
    give_dose(client, base, w)  # charted late, at DOSE: every score is after it
    assert phq9(client, w, 18, 5)["worsening.mcid"] == (
        "PHQ-9 18 is 6 points worse than baseline 12 (earliest score: none at or before the "
        "first dose, 2025-03-03; MCID 5)."
    )


def qr_phq9(pid: int, answers: list[int], authored: str) -> dict[str, Any]:
    """A completed FHIR QuestionnaireResponse to ketacare's PHQ-9 (LOINC answer codes)."""
    codes = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": "https://ketacare.org/fhir/Questionnaire/phq9|1.0.0",
        "status": "completed",
        "subject": {"reference": f"Patient/{pid}"},
        "authored": authored,
        "item": [
            {
                "linkId": str(i),
                "answer": [{"valueCoding": {"system": "http://loinc.org", "code": codes[v]}}],
            }
            for i, v in enumerate(answers, start=1)
        ],
    }


@pytest.mark.parametrize(("rule", "raised"), [("before_first_dose", 3), ("earliest", 0)])
def test_every_storing_route_passes_the_rule(
    db: Session, settings: Settings, rule: str, raised: int
) -> None:
    w = setup(db)
    pid = w["patient_id"]
    cfg = settings.model_copy(update={"outcome_baseline": rule})
    app = create_app(cfg)
    with TestClient(app, follow_redirects=False) as client:
        give_dose(client, start_session(client, app, w), w)
        phq9(client, w, 20, -90)
        phq9(client, w, 14, -7)
        w["clock"].now = utcnow()  # the app's clock: the rest is entered today
        # A 19 after the dose through each other route: worse than 14, not than 20.
        login(client, w["clinician_email"])
        form = {f"item_{i}": str(v) for i, v in enumerate(PHQ9[19], start=1)}
        form |= {"instrument": "phq9", "completed_at": "2025-03-10T09:00"}
        form["csrf_token"] = csrf(client, f"/patients/{pid}/assessments")
        assert client.post(f"/patients/{pid}/assessments/new", data=form).status_code == 303
        patient = db.get(Patient, pid)
        assert patient is not None
        link = outreach.new_link(db, cfg, patient, "phq9", utcnow(), utcnow())
        db.commit()
        assert link is not None
        token = link.url.rsplit("/", 1)[1]
        page = client.get(f"/a/{token}")
        key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
        assert key
        form = {f"item_{i}": str(v) for i, v in enumerate(PHQ9[19], start=1)}
        form |= {"csrf_token": client.cookies.get("kc_csrf") or "", "idempotency_key": key[1]}
        assert client.post(f"/a/{token}", data=form).status_code == 200
        body = qr_phq9(pid, PHQ9[19], "2025-03-12T10:00:00Z")
        r = client.post("/fhir/QuestionnaireResponse", json=body, headers=w["clinician"])
        assert r.status_code == 201, r.text
    worse = select(func.count()).select_from(Alert).where(Alert.rule_id == "worsening.mcid")
    assert scalar(db, worse) == raised


def test_history_costs_one_small_read(db: Session, engine: Engine) -> None:
    st = staff(db)  # a patient without any session
    patient = db.get(Patient, st.pid)
    assert patient is not None
    for total, days in ((12, 1), (8, 2)):
        when = DOSE + timedelta(days=days)
        store_assessment(db, patient, "phq9", PHQ9[total], Source.clinician, Actor(None), when)
    reads: list[str] = []

    def log(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)

    event.listen(engine, "before_cursor_execute", log)
    try:
        cases: list[tuple[OutcomeBaseline, int]] = [("before_first_dose", 1), ("earliest", 1)]
        for rule, n in cases:
            reads.clear()
            past = history(db, st.pid, "phq9", DOSE + timedelta(days=3), rule)
            assert len(reads) == n, reads
            assert past.baseline is not None and past.baseline.total == 12
            assert past.previous is not None and past.previous.total == 8
    finally:
        event.remove(engine, "before_cursor_execute", log)
    db.commit()
