"""Issue 14 points 1, 2 and 8: dosing-weight safety, exact half-up rounding, MDSI first dose."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ketacare.domain.course.dosing import (
    DoseRuleError,
    Override,
    dosing_weight,
    esketamine_dose,
    iv_ketamine_dose,
)
from ketacare.domain.course.protocols import builtin_protocols
from ketacare.domain.errors import InvalidAnswer
from ketacare.features.intake.cli import dose

P = builtin_protocols()
IND = P["iv-ketamine-induction"]
MDSI = P["esketamine-mdsi"]
OVERRIDE = Override("Dr A", "documented non-response at 0.5 mg/kg")
app = typer.Typer()
app.command("dose")(dose)
app.command("noop")(lambda: None)
runner = CliRunner()


def cli(*args: str) -> tuple[int, dict[str, Any] | None, str]:
    r = runner.invoke(app, ["dose", *args, "--json"])
    assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
    return r.exit_code, json.loads(r.stdout) if r.exit_code == 0 else None, r.stderr


# --- point 1: dosing weight -----------------------------------------------------------------
def test_short_patient_ideal_weight_is_refused_naming_height_and_basis() -> None:
    # Before: 60 kg, 100 cm, female, ideal -> -1.0 mg with exit 0.
    for basis in ("ideal", "adjusted"):
        with pytest.raises(InvalidAnswer) as exc:
            iv_ketamine_dose(IND, 60, weight_basis=basis, height_cm=100, sex="female")
        assert exc.value.field == "height_cm"
        assert basis in exc.value.reason
        assert "152.4" in exc.value.reason
        code, _, err = cli(
            "--protocol", "iv-ketamine-induction", "--weight-kg", "60", "--weight-basis", basis,
            "--height-cm", "100", "--sex", "female",
        )  # fmt: skip
        assert code == 2
        assert "--height-cm" in err
        assert basis in err
        assert "Traceback" not in err


def test_devine_range_edges() -> None:
    assert dosing_weight(80, "ideal", 152.4, "male") == 50.0
    with pytest.raises(InvalidAnswer):
        dosing_weight(80, "ideal", 152.3, "male")
    with pytest.raises(InvalidAnswer):
        dosing_weight(80, "ideal", 213.5, "male")


def test_tall_light_patient_never_above_actual_weight() -> None:
    # Before: 40 kg, 200 cm, male, 1.0 mg/kg ideal -> 93.1 mg = 2.33 mg/kg of actual weight.
    d = iv_ketamine_dose(IND, 40, mg_per_kg=1.0, weight_basis="ideal", height_cm=200, sex="male")
    assert d.dose_mg == 40.0
    assert d.dosing_weight_kg == 40.0
    assert d.mg_per_kg_actual == pytest.approx(1.0)
    cap = next(r for r in d.reasons if r.rule_id == "DOSE-WEIGHT-CAP")
    assert "above the actual weight" in cap.text
    code, out, _ = cli(
        "--protocol", "iv-ketamine-induction", "--weight-kg", "40", "--mg-per-kg", "1.0",
        "--weight-basis", "ideal", "--height-cm", "200", "--sex", "male",
    )  # fmt: skip
    assert code == 0
    assert out is not None
    assert out["dose_mg"] == 40.0
    assert out["mg_per_kg_actual_weight"] == 1.0
    assert "DOSE-WEIGHT-CAP" in {r["rule_id"] for r in out["reasons"]}


def test_ceiling_is_checked_against_actual_weight_too() -> None:
    d = iv_ketamine_dose(IND, 40, mg_per_kg=1.5, override=OVERRIDE)
    ids = {r.rule_id for r in d.reasons}
    assert {"DOSE-CEILING", "DOSE-CEILING-ACTUAL"} <= ids
    with pytest.raises(DoseRuleError):
        iv_ketamine_dose(IND, 40, mg_per_kg=1.5)


@settings(max_examples=400, deadline=None)
@given(
    w=st.floats(30, 300),
    h=st.floats(120, 230),
    sex=st.sampled_from(["male", "female", "other"]),
    basis=st.sampled_from(["actual", "ideal", "adjusted"]),
    mgkg=st.floats(0.05, 3.0),
    with_override=st.booleans(),
)
def test_dose_positive_and_within_actual_ceiling_or_refused_or_flagged(
    w: float, h: float, sex: str, basis: Any, mgkg: float, with_override: bool
) -> None:
    ceiling = IND.dose.ceiling_mg_per_kg
    assert ceiling is not None
    try:
        d = iv_ketamine_dose(
            IND,
            w,
            mg_per_kg=mgkg,
            weight_basis=basis,
            height_cm=h,
            sex=sex,
            override=OVERRIDE if with_override else None,
        )
    except (InvalidAnswer, DoseRuleError):
        return  # refused, naming the field or the rule
    assert d.dose_mg > 0
    assert 0 < d.dosing_weight_kg <= w
    if d.dose_mg_exact / w > ceiling + 1e-9:
        assert with_override
        assert "DOSE-CEILING-ACTUAL" in {r.rule_id for r in d.reasons}


# --- point 2: rounding ----------------------------------------------------------------------
def test_half_up_tie_is_exact() -> None:
    # 0.5 x 273.7 = 136.85 exactly; binary floating point rounded it to 136.8.
    assert iv_ketamine_dose(IND, 273.7).dose_mg == 136.9
    d = iv_ketamine_dose(IND, 70.1, concentration_mg_per_ml=2)  # 35.05 mg -> 35.1 mg
    assert (d.dose_mg, d.drug_volume_ml) == (35.1, 17.55)  # 17.55 mL, not 17.5
    # 10.05 mL over 40 min = 15.075 mL/h -> 15.1 mL/h
    assert iv_ketamine_dose(IND, 80, volume_ml=10.05).rate_ml_per_h == 15.1


@settings(max_examples=500, deadline=None)
@given(
    w10=st.integers(300, 3000),
    k100=st.integers(5, 100),
    c10=st.integers(10, 1000),
    d10=st.integers(100, 2400),
    v100=st.integers(5000, 50000),
)
def test_displayed_values_are_exact_half_up(
    w10: int, k100: int, c10: int, d10: int, v100: int
) -> None:
    """Integer oracle: dose, drug volume and rate equal the exact half-up decimal values."""
    w, k = Decimal(w10) / 10, Decimal(k100) / 100
    conc, dur, vol = Decimal(c10) / 10, Decimal(d10) / 10, Decimal(v100) / 100
    d = iv_ketamine_dose(
        IND, float(w), mg_per_kg=float(k), concentration_mg_per_ml=float(conc),
        duration_min=float(dur),
    )  # fmt: skip
    dose_units = (w10 * k100 + 50) // 100  # exact mg x 1000, to 0.1 mg half up
    assert Decimal(repr(d.dose_mg)) == Decimal(dose_units) / 10
    dose_exact = Decimal(dose_units) / 10
    ml_units = int((dose_exact / conc * 1000 + 5) // 10)  # 0.01 mL half up
    assert Decimal(repr(d.drug_volume_ml)) == Decimal(ml_units) / 100
    r = iv_ketamine_dose(IND, float(w), mg_per_kg=float(k), volume_ml=float(vol),
                         duration_min=float(dur))  # fmt: skip
    rate_tenths = (Decimal(v100) * 60 * 10 * 10 / (Decimal(d10) * 100) * 10 + 5) // 10
    assert Decimal(repr(r.rate_ml_per_h)) == rate_tenths / 10


# --- point 8: esketamine-mdsi first dose ----------------------------------------------------
def test_mdsi_first_dose_56_needs_tolerability_reason() -> None:
    with pytest.raises(DoseRuleError) as exc:
        esketamine_dose(MDSI, 56, [])
    assert exc.value.rule_id == "DOSE-START-REDUCED"
    assert "tolerability" in str(exc.value)
    ok = esketamine_dose(MDSI, 56, [], override=Override("Dr A", "nausea at 84 mg elsewhere"))
    assert ok.dose_mg == 56
    assert "DOSE-START-REDUCED" in {r.rule_id for r in ok.reasons}
    assert esketamine_dose(MDSI, 56, [84]).dose_mg == 56  # a later reduction stays allowed
    code, _, err = cli("--protocol", "esketamine-mdsi", "--weight-kg", "70", "--dose-mg", "56")
    assert code == 2
    assert "--dose-mg" in err
    assert "tolerability" in err
    code, out, _ = cli(
        "--protocol", "esketamine-mdsi", "--weight-kg", "70", "--dose-mg", "56",
        "--override-by", "Dr A", "--override-reason", "nausea and dizziness at 84 mg",
    )  # fmt: skip
    assert code == 0
    assert out is not None
    assert out["dose_mg"] == 56


def _ideal_protocol() -> Any:
    import dataclasses

    return dataclasses.replace(
        IND, dose=dataclasses.replace(IND.dose, weight_basis="ideal"), id="iv-ideal"
    )


def test_plans_use_the_same_weight_rules() -> None:
    from datetime import date

    from ketacare.domain.course.scheduling import plan_course

    p = _ideal_protocol()
    with pytest.raises(InvalidAnswer) as exc:
        plan_course(p, date(2025, 3, 3), weight_kg=60, height_cm=100, sex="female")
    assert exc.value.field == "height_cm"
    s = plan_course(p, date(2025, 3, 3), weight_kg=40, height_cm=200, sex="male")
    assert s.sessions[0].planned_dose_mg == 20.0  # 0.5 mg/kg of the actual 40 kg
    assert "actual weight used" in s.sessions[0].dose_label
