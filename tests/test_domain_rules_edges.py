"""Edge branches of the clinical rules that no other test reached (found with `make coverage`):
missing records block with a named reason, bad configuration and bad shapes are refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ketacare.domain.errors import DomainError, InvalidAnswer
from ketacare.domain.intake.dsm5 import assess_major_depressive_episode
from ketacare.domain.intake.model import Dsm5Attestations
from ketacare.domain.intake.trd import TrdConfig
from ketacare.domain.mbc.screening import score_phq9
from ketacare.domain.sessions.discharge import DischargeFacts, check_discharge
from ketacare.domain.sessions.rems import PMF_FIELDS, field_problem
from ketacare.domain.sessions.rems import missing as rems_missing
from ketacare.domain.sessions.safety import PreDose, Reason, check_predose, vitals_due

T0 = datetime(2025, 1, 1, 9, tzinfo=UTC)


def test_dsm5_unknown_criterion_and_wrong_item_count() -> None:
    result = assess_major_depressive_episode(None, Dsm5Attestations())
    with pytest.raises(KeyError):
        result.status("Z9")
    with pytest.raises(ValueError, match="9 items"):
        assess_major_depressive_episode([1, 1, 1], Dsm5Attestations())


@pytest.mark.parametrize(("field", "value"), [("min_weeks", 3), ("min_failed_trials", 0)])
def test_trd_config_out_of_range_names_the_field(field: str, value: int) -> None:
    with pytest.raises(DomainError, match=field):
        TrdConfig(**{field: value})  # type: ignore[arg-type]


def test_self_screen_names_the_difficulty_item() -> None:
    with pytest.raises(InvalidAnswer) as exc:
        score_phq9([1] * 9, difficulty=7)
    assert exc.value.field == "phq9_difficulty.1"


@pytest.mark.parametrize(
    ("result", "rule"),
    [("not_done", "predose.pregnancy_test"), ("positive", "predose.pregnancy_positive")],
)
def test_predose_pregnancy_test_recorded_and_negative(result: str, rule: str) -> None:
    p = PreDose("iv_ketamine", pregnancy_test_applies=True, pregnancy_test=result)
    unmet = check_predose(p, T0).unmet
    assert rule in [r.rule_id for r in unmet]
    negative = PreDose("iv_ketamine", pregnancy_test_applies=True, pregnancy_test="negative")
    assert not {"predose.pregnancy_test", "predose.pregnancy_positive"} & {
        r.rule_id for r in check_predose(negative, T0).unmet
    }


def test_no_vitals_due_before_the_dose() -> None:
    assert vitals_due("iv_ketamine", None, None, [], T0) == []


def test_reason_to_dict() -> None:
    r = Reason("predose.x", "Text.", "source", "detail")
    assert r.to_dict() == {
        "rule_id": "predose.x",
        "text": "Text.",
        "source": "source",
        "detail": "detail",
    }


def test_iv_discharge_needs_the_end_time_and_blood_pressures() -> None:
    facts = DischargeFacts("iv_ketamine", dose_start=T0)
    result = check_discharge(facts, T0 + timedelta(hours=3))
    details = {r.rule_id: r.detail for r in result.unmet}
    assert not result.allowed
    assert details["discharge.iv.min_time"] == "the dose time is not recorded"
    assert details["discharge.iv.vitals"] == "no pre-dose or post-dose BP"


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("enrolled", "maybe", "must be yes or no"),
        ("duration_min", "two hours", "must be a whole number"),
        ("duration_min", "1441", "must be from 0 to 1440"),
        ("treatment_date", "2025-13-01", "must be a date YYYY-MM-DD"),
        ("monitor_name", "x" * 501, "must be at most 500 characters"),
        ("monitor_name", "Dr Who", None),
    ],
)
def test_rems_form_field_checks(field: str, value: str, problem: str | None) -> None:
    f = next(f for f in PMF_FIELDS if f.id == field)
    assert field_problem(f, value) == problem


def test_rems_monitoring_shorter_than_required_is_named() -> None:
    reasons = {r.rule_id: r.text for r in rems_missing({"duration_min": 90}, monitor_min=120)}
    assert "at least 120" in reasons["rems.duration_min"]
