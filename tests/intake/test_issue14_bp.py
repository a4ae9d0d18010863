"""Issue 14 point 7: a stale intake blood pressure makes the BP criterion unknown."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from ketacare.domain.intake.eligibility import EligibilityConfig
from ketacare.domain.intake.json_file import intake_from_dict
from ketacare.domain.intake.model import BloodPressure, Intake
from ketacare.domain.intake.verdict import IntakeRulesConfig, assess_intake
from ketacare.features.intake.cli import eligibility

EXAMPLE = Path(__file__).with_name("example_intake.json")  # assessed on 2025-03-01
app = typer.Typer()
app.command("eligibility")(eligibility)
app.command("noop")(lambda: None)
runner = CliRunner()


def with_bp(bp: BloodPressure | None) -> Intake:
    return dataclasses.replace(intake_from_dict(json.loads(EXAMPLE.read_text())), blood_pressure=bp)


@pytest.mark.parametrize("treatment", ["esketamine", "iv_ketamine"])
def test_2019_bp_does_not_make_a_2025_intake_eligible(treatment: str) -> None:
    a = assess_intake(with_bp(BloodPressure(120, 80, date(2019, 5, 2))))
    e = getattr(a, treatment)
    assert e.status == "incomplete"  # before: "eligible"
    assert e.missing_fields == ("blood_pressure.measured_on",)
    (reason,) = e.missing
    assert reason.rule_id.endswith("-BP")
    assert "2019-05-02" in reason.text and "30 days" in reason.text
    assert "[U]" in reason.source


def test_recent_bp_counts_and_the_age_is_configurable() -> None:
    assert assess_intake(with_bp(BloodPressure(120, 80, date(2025, 1, 30)))).esketamine.status == (
        "eligible"
    )  # exactly 30 days
    stale = with_bp(BloodPressure(120, 80, date(2025, 1, 29)))  # 31 days
    assert assess_intake(stale).esketamine.status == "incomplete"
    longer = IntakeRulesConfig(eligibility=EligibilityConfig(bp_max_age_days=90))
    assert assess_intake(stale, longer).esketamine.status == "eligible"
    anyage = IntakeRulesConfig(eligibility=EligibilityConfig(bp_max_age_days=None))
    old = with_bp(BloodPressure(120, 80, date(2019, 5, 2)))
    assert assess_intake(old, anyage).esketamine.status == "eligible"


def test_undated_bp_is_unknown_and_raised_recent_bp_still_needs_review() -> None:
    a = assess_intake(with_bp(BloodPressure(120, 80)))
    assert a.esketamine.missing_fields == ("blood_pressure.measured_on",)
    high = assess_intake(with_bp(BloodPressure(150, 85, date(2025, 2, 27))))
    assert high.esketamine.status == "needs_review"


def test_cli_option_and_clinic_setting(tmp_path: Path) -> None:
    doc = json.loads(EXAMPLE.read_text())
    doc["blood_pressure"]["measured_on"] = "2024-12-01"  # 90 days before 2025-03-01
    path = tmp_path / "i.json"
    path.write_text(json.dumps(doc))

    def status(*args: str, env: dict[str, str] | None = None) -> str:
        r = runner.invoke(app, ["eligibility", "--intake", str(path), "--json", *args], env=env)
        assert r.exit_code == 0, r.stderr
        return str(json.loads(r.stdout)["eligibility"]["esketamine"]["status"])

    assert status() == "incomplete"
    assert status("--bp-max-age-days", "90") == "eligible"
    assert status(env={"KETACARE_INTAKE_BP_MAX_AGE_DAYS": "120"}) == "eligible"
