"""Issue 14 points 4 and 5: TRD counts different drugs; Thase-Rush strict and loose readings."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from ketacare.domain.intake.antidepressants import ANTIDEPRESSANTS, BRANDS, normalise_drug
from ketacare.domain.intake.json_file import intake_from_dict
from ketacare.domain.intake.model import AntidepressantTrial, Intake
from ketacare.domain.intake.trd import TrdConfig, assess_trd, thase_rush_stage
from ketacare.domain.intake.verdict import IntakeRulesConfig, assess_intake

EXAMPLE = Path(__file__).with_name("example_intake.json")


def trial(drug: str, cls: str | None = "ssri", **kw: object) -> AntidepressantTrial:
    t = AntidepressantTrial(drug, cls, 100, 8, True, "no_response")  # type: ignore[arg-type]
    return dataclasses.replace(t, **kw)  # type: ignore[arg-type]


def example_with(*trials: AntidepressantTrial) -> Intake:
    base = intake_from_dict(json.loads(EXAMPLE.read_text()))
    return dataclasses.replace(
        base, treatment=dataclasses.replace(base.treatment, antidepressant_trials=trials)
    )


# --- point 4: two different antidepressants -------------------------------------------------
@pytest.mark.parametrize(
    "names",
    [
        ("sertraline", "sertraline"),
        ("sertraline", "Sertraline "),
        ("SERTRALINE", "  sertraline"),
        ("sertraline", "Zoloft"),
        ("Lustral", "zoloft"),
        ("Effexor XR", "venlafaxine"),
    ],
)
def test_two_trials_of_one_drug_are_not_trd(names: tuple[str, str]) -> None:
    i = example_with(*(trial(n) for n in names))
    r = assess_trd(i)
    assert (r.trd, r.adequate_failures) == (False, 1)
    a = assess_intake(i)
    assert a.esketamine.status == "not_eligible"
    assert "ESK-TRD" in {c.rule_id for c in a.esketamine.contraindications}


def test_two_different_drugs_are_trd() -> None:
    r = assess_trd(example_with(trial("sertraline"), trial("Cipralex")))
    assert (r.trd, r.adequate_failures) == (True, 2)
    assert "2 different antidepressant" in r.reasons[0].text


def test_unknown_trial_of_the_same_drug_cannot_make_trd() -> None:
    unknown = trial("sertraline", weeks=None)
    r = assess_trd(example_with(trial("sertraline"), unknown))
    assert r.trd is False  # the unjudged trial is of a drug already counted
    r2 = assess_trd(example_with(trial("sertraline"), trial("duloxetine", weeks=None)))
    assert r2.trd is None
    assert r2.missing == ("treatment.antidepressant_trials[1] (duloxetine)",)


def test_brand_table_maps_to_offered_generics() -> None:
    assert set(BRANDS.values()) <= set(ANTIDEPRESSANTS)
    assert all(normalise_drug(g) == g for g in ANTIDEPRESSANTS)
    assert normalise_drug("Wellbutrin XL") == "bupropion"


# --- point 5: Thase-Rush readings on every stage boundary -----------------------------------
CASES = [
    # classes of different failed drugs, bilateral ECT failed, strict stage, loose stage
    ((), None, "0", "0"),
    (("ssri",), None, "I", "I"),
    (("ssri", "ssri"), None, "I", "I"),
    (("tca",), None, "I", "I"),
    (("ssri", "snri"), None, "II", "II"),
    (("ssri", "tca"), None, "II", "III"),  # the disputed case (clinical.md §4.3)
    (("tca", "tca"), None, "I", "I"),
    (("ssri", "bupropion", "tca"), None, "III", "III"),
    (("ssri", "tca", "tca"), None, "III", "III"),
    (("ssri", "tca", "maoi"), None, "III", "IV"),
    (("ssri", "snri", "tca", "maoi"), False, "IV", "IV"),
    (("ssri", "snri", "tca", "maoi"), True, "V", "V"),
    (("ssri", "tca", "maoi"), True, "III", "V"),
    (("ssri", "snri", "maoi"), None, "II", "II"),
]


@pytest.mark.parametrize(("classes", "ect", "strict", "loose"), CASES)
def test_thase_rush_strict_default_and_loose_configuration(
    classes: tuple[str, ...], ect: bool | None, strict: str, loose: str
) -> None:
    trials = tuple(trial(f"drug-{n}", c) for n, c in enumerate(classes))
    i = example_with(*trials)
    i = dataclasses.replace(i, treatment=dataclasses.replace(i.treatment, ect_bilateral_failed=ect))
    assert thase_rush_stage(i, assess_trd(i)).label == strict
    assert assess_intake(i).thase_rush.label == strict
    cfg = TrdConfig(thase_rush_reading="loose")
    r = thase_rush_stage(i, assess_trd(i, cfg), cfg)
    assert r.label == loose
    assert "loose" in r.reason.text
    assert assess_intake(i, IntakeRulesConfig(trd=cfg)).thase_rush.label == loose


def test_same_drug_twice_is_one_class_entry() -> None:
    i = example_with(trial("nortriptyline", "tca"), trial("Pamelor", "tca"), trial("sertraline"))
    assert thase_rush_stage(i, assess_trd(i)).label == "II"
