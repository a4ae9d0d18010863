"""Intake and plan services on SQLite and PostgreSQL, plus the pure form and chart helpers."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from ketacare.domain.intake.json_file import intake_from_dict, intake_to_dict
from ketacare.features._kit.errors import BadRequest
from ketacare.features.charts.render import page_svg
from ketacare.features.intake import form, plans, service
from ketacare.features.intake.models import IntakeRecord, PlannedSession, TreatmentPlan
from ketacare.features.pk import plan as planpk
from tests.conftest import count
from tests.intake_app.intake_support import EXAMPLE, example, setup


def test_versions_typed_columns_and_who(db: Session) -> None:
    _, user, patient, _ = setup(db)
    first = service.save_intake(db, user, patient, example(), today=date(2025, 3, 2))
    second = service.save_intake(
        db, user, patient, example(demographics={"weight_kg": 80}), "scale fixed"
    )
    db.commit()
    assert (first.version, second.version) == (1, 2)
    assert first.weight_kg == 70 and first.age_years == 42 and second.age_years is None
    assert second.comment == "scale fixed" and second.created_by_email == user.email
    assert service.current_intake(db, patient.id) is not None
    assert [r.version for r in service.intake_versions(db, patient.id)] == [2, 1]
    assert service.intake_of(service.intake_version(db, patient.id, 1)).demographics.sex == "female"
    db.commit()
    assert count(db, IntakeRecord) == 2


def test_parse_defaults_assessed_on_and_names_fields() -> None:
    intake = service.parse_intake({"demographics": {"age_years": 30}}, today=date(2025, 1, 2))
    assert intake.assessed_on == date(2025, 1, 2)
    with pytest.raises(BadRequest) as exc:
        service.parse_intake({"medical": {"maoi": "sometimes"}})
    assert exc.value.field == "medical.maoi" and "true, false or null" in exc.value.reason
    with pytest.raises(BadRequest) as exc:
        service.parse_intake("not an object")
    assert exc.value.field == "intake"


def test_rejected_intake_stores_nothing(db: Session) -> None:
    _, user, patient, _ = setup(db)
    with pytest.raises(BadRequest):
        service.save_intake(db, user, patient, example(screening={"phq9": [4] * 9}))
    with pytest.raises(BadRequest) as exc:
        service.save_intake(db, user, patient, example(), comment="x" * 501)
    assert exc.value.field == "comment"
    db.commit()
    assert count(db, IntakeRecord) == 0


def test_esketamine_plan_follows_the_steps(db: Session) -> None:
    _, user, patient, _ = setup(db)
    older = example(demographics={"age_years": 70, "weight_kg": 64})
    service.save_intake(db, user, patient, older)
    data = plans.PlanInput("esketamine-trd", "2025-03-03", ("mon", "thu"), "age-65-plus", "56")
    plan = plans.create_plan(db, user, patient, data)
    sessions = plans.sessions_of(db, plan.id)
    assert [s.planned_dose_mg for s in sessions[:3]] == [28.0, 56.0, 56.0]
    assert [s.dose_label for s in sessions[:2]] == ["28 mg (1 device)", "56 mg (2 devices)"]
    assert plan.variant == "age-65-plus" and plan.age_years == 70 and plan.weekdays == "mon,thu"
    with pytest.raises(BadRequest) as exc:  # 84 mg only after a 56 mg dose
        plans.create_plan(
            db,
            user,
            patient,
            plans.PlanInput("esketamine-trd", "2025-03-03", ("mon", "thu"), "age-65-plus", "84"),
        )
    assert exc.value.field == "esketamine_dose_mg" and "56" in exc.value.reason
    pk = planpk.plan_pk(plan, sessions)
    assert pk.band.model == "perez-ruixo-2021" and pk.age_years == 70 and not pk.notes
    assert all(d.route == "nasal" for d in pk.doses) and pk.doses[1].time_min == 3 * 1440
    db.commit()
    assert count(db, TreatmentPlan) == 1 and count(db, PlannedSession) == 16


def test_plan_age_from_birth_date_and_ics_uids(db: Session) -> None:
    _, user, patient, _ = setup(db)
    service.save_intake(db, user, patient, example(demographics={"weight_kg": 90}))
    plan = plans.create_plan(
        db, user, patient, plans.PlanInput("iv-ketamine-induction", "2025-03-03")
    )
    assert plan.age_years == 41  # born 1983-04-02, first possible day 2025-03-03
    sessions = plans.sessions_of(db, plan.id)
    assert sessions[0].planned_dose_mg == 45.0 and sessions[0].dose_mg_per_kg == 0.5
    ics = plans.plan_ics(plan, sessions)
    assert f"@plan-{plan.id}.ketacare.invalid" in ics and ics.count("UID:") == 6
    assert ics == plans.plan_ics(plan, sessions)  # deterministic (DTSTAMP = created_at)
    db.commit()


def test_chart_svg_is_inline_safe() -> None:
    raw = (
        '<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" '
        'xmlns:xlink="http://www.w3.org/1999/xlink" width="10pt" height="5pt" viewBox="0 0 10 5">'
        "<metadata>x</metadata><defs><style>*{a:b}</style></defs>"
        '<path d="M0 0" style="fill: #fff; stroke-width: 0.8"/><use xlink:href="#m1"/></svg>'
    )
    out = page_svg(raw, "title")
    assert out.startswith("<svg") and "style" not in out and "metadata" not in out
    assert 'fill="#fff"' in out and 'stroke-width="0.8"' in out and 'aria-label="title"' in out
    assert 'width="10pt"' not in out and 'xlink:href="#m1"' in out


def test_form_round_trip_and_trial_rows() -> None:
    canonical = intake_to_dict(intake_from_dict(EXAMPLE))
    values = form.document_to_values(canonical)
    doc, problems, rows = form.form_to_document(values)
    assert problems == {} and rows == [0, 1, 2]
    assert intake_to_dict(intake_from_dict(doc)) == canonical
    blank, _, _ = form.form_to_document({})
    assert intake_to_dict(intake_from_dict(blank)) == intake_to_dict(intake_from_dict({}))
    gap = {f"{form.TRIALS}[3].drug": "bupropion", f"{form.TRIALS}[3].weeks": "lots"}
    doc, problems, rows = form.form_to_document(gap)
    assert problems == {f"{form.TRIALS}[3].weeks": "must be a number"} and rows == [3]
    assert form.form_field(f"{form.TRIALS}[0].drug", rows) == f"{form.TRIALS}[3].drug"
    none, _, _ = form.form_to_document({form.TRIALS: "none"})
    assert none["treatment"]["antidepressant_trials"] == []
