"""Intake, assessment, plan, calendar and PK API on SQLite and PostgreSQL: versions kept,
422 naming the field with nothing stored, clinic tenancy, staff-only, audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.intake.models import IntakeRecord, PlannedSession, TreatmentPlan
from tests.conftest import count, make_clinic
from tests.intake_app.intake_support import example, setup, staff_headers


def test_intake_versions_are_kept(client: TestClient, db: Session) -> None:
    _, _, patient, headers = setup(db)
    url = f"/api/v1/patients/{patient.id}/intake"
    assert client.get(url, headers=headers).status_code == 404
    first = client.put(url, json=example(), headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["version"] == 1 and body["intake"]["demographics"]["weight_kg"] == 70
    assert body["created_by"].startswith("clinician-")
    corrected = example(demographics={"age_years": 42, "sex": "female", "weight_kg": 72.5})
    second = client.put(url, json=corrected, headers=headers, params={"comment": "weight"})
    assert second.status_code == 200 and second.json()["version"] == 2
    current = client.get(url, headers=headers).json()
    assert current["version"] == 2 and current["comment"] == "weight"
    assert current["intake"]["demographics"]["weight_kg"] == 72.5
    # Height was left out of the correction: unknown (null), not carried over and not "no".
    assert current["intake"]["demographics"]["height_cm"] is None
    versions = client.get(f"{url}/versions", headers=headers).json()
    assert [v["version"] for v in versions] == [2, 1]
    old = client.get(f"{url}/versions/1", headers=headers).json()
    assert old["intake"]["demographics"]["weight_kg"] == 70
    assert client.get(f"{url}/versions/9", headers=headers).status_code == 404
    assert count(db, IntakeRecord) == 2


def test_unknown_is_not_no(client: TestClient, db: Session) -> None:
    _, _, patient, headers = setup(db)
    url = f"/api/v1/patients/{patient.id}/intake"
    doc = {"medical": {"hypertension": False, "cardiac_disease": None}}
    stored = client.put(url, json=doc, headers=headers).json()["intake"]
    assert stored["medical"]["hypertension"] is False
    assert stored["medical"]["cardiac_disease"] is None
    assert stored["medical"]["maoi"] is None
    assert stored["treatment"]["antidepressant_trials"] is None
    assert stored["assessed_on"]  # defaults to the day it was recorded


def test_bad_intake_is_422_naming_the_field_and_nothing_is_stored(
    client: TestClient, db: Session
) -> None:
    _, _, patient, headers = setup(db)
    url = f"/api/v1/patients/{patient.id}/intake"
    cases = [
        (example(medical={"child_pugh": "D"}), "medical.child_pugh"),
        (example(demographics={"weight_kg": 12}), "demographics.weight_kg"),
        (example(colour="blue"), "colour"),
        (
            example(treatment={"antidepressant_trials": [{"drug": "x"}, {"weeks": 3}]}),
            "treatment.antidepressant_trials[1].drug",
        ),
        (
            example(blood_pressure={"systolic_mmhg": 80, "diastolic_mmhg": 90}),
            "blood_pressure.diastolic_mmhg",
        ),
        (example(episode={"current_episode_start": "2999-01-01"}), "episode.current_episode_start"),
    ]
    for doc, field in cases:
        r = client.put(url, json=doc, headers=headers)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["detail"][0]["field"] == field, r.text
    assert client.put(url, json=[1, 2], headers=headers).status_code == 422
    assert count(db, IntakeRecord) == 0
    assert count(db, AuditEvent) == 0  # the rejected requests left no trace, not even reads


def test_assessment_has_reasons(client: TestClient, db: Session) -> None:
    _, _, patient, headers = setup(db)
    base = f"/api/v1/patients/{patient.id}"
    assert client.get(f"{base}/assessment", headers=headers).status_code == 404
    client.put(f"{base}/intake", json=example(), headers=headers)
    a = client.get(f"{base}/assessment", headers=headers).json()
    assert a["intake_version"] == 1
    assert a["dsm5"]["conclusion"] == "meets"
    assert a["trd"]["trd"] is True and a["trd"]["adequate_failures"] == 3
    assert a["eligibility"]["esketamine"]["status"] == "eligible"
    rec = a["pathway"]["recommendations"][0]
    assert rec["reasons"] and {"rule_id", "text", "source"} <= set(rec["reasons"][0])
    assert all(c["rule_id"] and c["source"] for c in a["dsm5"]["criteria"])


def test_plan_iv_doses_from_weight_calendar_and_ics(client: TestClient, db: Session) -> None:
    _, _, patient, headers = setup(db)
    base = f"/api/v1/patients/{patient.id}"
    body = {
        "protocol_id": "iv-ketamine-induction",
        "start_date": "2025-03-03",
        "weekdays": ["mon", "wed", "fri"],
    }
    r = client.post(f"{base}/plan", json=body, headers=headers)
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "intake"
    client.put(f"{base}/intake", json=example(), headers=headers)
    r = client.post(f"{base}/plan", json=body, headers=headers)
    assert r.status_code == 201, r.text
    plan = r.json()
    assert plan["protocol_version"] == "1.0.0" and plan["status"] == "active"
    assert plan["intake_version"] == 1 and plan["weekdays"] == ["mon", "wed", "fri"]
    days = [s["day"] for s in plan["sessions"]]
    assert days == [
        "2025-03-03",
        "2025-03-05",
        "2025-03-07",
        "2025-03-10",
        "2025-03-12",
        "2025-03-14",
    ]
    first = plan["sessions"][0]
    assert first["planned_dose_mg"] == 35.0 and first["dose_mg_per_kg"] == 0.5
    assert first["route"] == "iv" and first["infusion_min"] == 40 and first["phase"] == "induction"
    assert client.get(f"{base}/plan", headers=headers).json()["id"] == plan["id"]
    ics = client.get(f"{base}/plan.ics", headers=headers)
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    assert ics.text.count("BEGIN:VEVENT") == 6
    # Timed events at the clinic's session start (09:00 clinic time; UTC here), at the clinic.
    assert "DTSTART:20250303T090000Z" in ics.text and "DTEND:20250303T110000Z" in ics.text
    assert "LOCATION:Test Clinic" in ics.text and "VALUE=DATE" not in ics.text
    assert "Lee" not in ics.text and "Ada" not in ics.text  # no patient data in the calendar


def test_new_plan_supersedes_and_sessions_keep_ids(client: TestClient, db: Session) -> None:
    _, _, patient, headers = setup(db)
    base = f"/api/v1/patients/{patient.id}"
    client.put(f"{base}/intake", json=example(), headers=headers)
    body = {"protocol_id": "iv-ketamine-induction", "start_date": "2025-03-03"}
    old = client.post(f"{base}/plan", json=body, headers=headers).json()
    esk = {
        "protocol_id": "esketamine-trd",
        "start_date": "2025-03-03",
        "weekdays": ["mon", "thu"],
        "esketamine_dose_mg": 84,
    }
    new = client.post(f"{base}/plan", json=esk, headers=headers).json()
    doses = [s["planned_dose_mg"] for s in new["sessions"]]
    assert doses[0] == 56 and set(doses[1:]) == {84} and len(doses) == 16
    assert all(s["dose_mg_per_kg"] is None and s["route"] == "intranasal" for s in new["sessions"])
    assert client.get(f"{base}/plan", headers=headers).json()["id"] == new["id"]
    assert count(db, TreatmentPlan) == 2 and count(db, PlannedSession) == 6 + 16
    kept = db.execute(
        select(PlannedSession.id).where(PlannedSession.plan_id == old["id"])
    ).scalars()
    assert sorted(kept) == sorted(s["id"] for s in old["sessions"])
    db.commit()
    statuses = dict(db.execute(select(TreatmentPlan.id, TreatmentPlan.status)).all())
    db.commit()
    assert statuses[old["id"]].value == "superseded" and statuses[new["id"]].value == "active"


def test_bad_plan_is_422_naming_the_field(client: TestClient, db: Session) -> None:
    _, _, patient, headers = setup(db)
    base = f"/api/v1/patients/{patient.id}"
    client.put(f"{base}/intake", json=example(), headers=headers)
    ok = {"protocol_id": "iv-ketamine-induction", "start_date": "2025-03-03"}
    cases = [
        ({**ok, "protocol_id": "nope"}, "protocol_id"),
        ({**ok, "start_date": "2025-02-30"}, "start_date"),
        ({**ok, "weekdays": ["funday"]}, "weekdays"),
        ({**ok, "weekdays": ["mon"]}, "weekdays"),  # 6 sessions cannot fit in 21 days
        ({**ok, "variant": "age-65-plus"}, "variant"),
        ({**ok, "esketamine_dose_mg": 56}, "esketamine_dose_mg"),
        (
            {"protocol_id": "esketamine-trd", "start_date": "2025-03-03", "esketamine_dose_mg": 70},
            "esketamine_dose_mg",
        ),
        ({**ok, "surprise": 1}, "surprise"),
    ]
    for body, field in cases:
        r = client.post(f"{base}/plan", json=body, headers=headers)
        assert r.status_code == 422, (field, r.text)
        assert r.json()["detail"][0]["field"] == field, r.text
    no_weight = example(demographics={"age_years": 42})
    client.put(f"{base}/intake", json=no_weight, headers=headers)
    r = client.post(f"{base}/plan", json=ok, headers=headers)
    assert r.json()["detail"][0]["field"] == "demographics.weight_kg"
    assert count(db, TreatmentPlan) == 0 and count(db, PlannedSession) == 0


def test_pk_endpoint(client: TestClient, db: Session) -> None:
    _, _, patient, headers = setup(db)
    base = f"/api/v1/patients/{patient.id}"
    assert client.get(f"{base}/plan/pk", headers=headers).status_code == 404
    client.put(f"{base}/intake", json=example(), headers=headers)
    client.post(
        f"{base}/plan",
        json={"protocol_id": "iv-ketamine-induction", "start_date": "2025-03-03"},
        headers=headers,
    )
    r = client.get(f"{base}/plan/pk", headers=headers)
    assert r.status_code == 200, r.text
    pk = r.json()
    assert pk["model"] == "domino" and pk["units"]["concentration"] == "ng/mL"
    assert "not dosing guidance" in pk["disclaimer"]
    assert pk["covariates"]["weight_kg"] == 70 and pk["covariates"]["age_years"] == 42
    n = len(pk["times_min"])
    assert n > 100 and all(len(pk[k]) == n for k in ("typical", "p5", "p50", "p95"))
    assert all(a <= b <= c for a, b, c in zip(pk["p5"], pk["p50"], pk["p95"], strict=True))
    # End of the first 40-min infusion of 35 mg at 70 kg: Domino's typical 240 ng/mL.
    at40 = pk["typical"][pk["times_min"].index(40.0)]
    assert abs(at40 - 240.3) < 1.0
    assert pk["times_min"] == sorted(pk["times_min"]) and pk["times_min"][-1] <= 12 * 1440
    other = client.get(f"{base}/plan/pk", params={"model": "hijazi"}, headers=headers).json()
    assert other["model"] == "hijazi"
    bad = client.get(f"{base}/plan/pk", params={"model": "perez-ruixo-2021"}, headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "model"


def test_tenancy_role_and_audit(client: TestClient, db: Session) -> None:
    clinic, user, patient, headers = setup(db)
    base = f"/api/v1/patients/{patient.id}"
    other = staff_headers(db, make_clinic(db, "other", "Other"), Role.admin)
    as_patient = staff_headers(db, clinic, Role.patient)
    client.put(f"{base}/intake", json=example(), headers=headers)
    client.post(
        f"{base}/plan",
        json={"protocol_id": "esketamine-trd", "start_date": "2025-03-03"},
        headers=headers,
    )
    paths = ["intake", "intake/versions", "assessment", "plan", "plan.ics", "plan/pk"]
    for path in paths:
        assert client.get(f"{base}/{path}", headers=other).status_code == 404, path
        assert client.get(f"{base}/{path}", headers=as_patient).status_code == 403, path
        assert client.get(f"{base}/{path}").status_code == 401, path
    assert client.put(f"{base}/intake", json=example(), headers=other).status_code == 404
    assert client.put(f"{base}/intake", json=example(), headers=as_patient).status_code == 403
    assert count(db, IntakeRecord) == 1
    for path in paths:
        assert client.get(f"{base}/{path}", headers=headers).status_code == 200, path
    events = db.execute(
        select(AuditEvent.action, AuditEvent.resource).where(
            AuditEvent.patient_id == patient.id, AuditEvent.actor_id == user.id
        )
    ).all()
    db.commit()
    seen = {(a, r) for a, r in events}
    expected = {
        ("create", "intake"),
        ("read", "intake"),
        ("list", "intake"),
        ("read", "assessment"),
        ("create", "treatment_plan"),
        ("read", "treatment_plan"),
        ("export", "treatment_plan"),
        ("read", "plan_pk"),
        ("read", "patient"),
    }
    assert expected <= seen
    assert all(e.channel == "api" for e in db.execute(select(AuditEvent)).scalars())
    db.commit()
