"""DSM-5, TRD staging, eligibility and pathway rules, with cases from clinical.md."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path

import jsonschema
import pytest

from ketacare.domain.errors import DomainError, InvalidAnswer
from ketacare.domain.intake.dsm5 import assess_major_depressive_episode
from ketacare.domain.intake.eligibility import EligibilityConfig
from ketacare.domain.intake.json_file import intake_from_dict, intake_schema, intake_to_dict
from ketacare.domain.intake.model import (
    AntidepressantTrial,
    Dsm5Attestations,
    EpisodeHistory,
    Intake,
    MedicalHistory,
    Screening,
    TreatmentHistory,
    completed_months,
)
from ketacare.domain.intake.trd import (
    TrdConfig,
    assess_trd,
    maudsley_stage,
    msm_antidepressant_score,
    thase_rush_stage,
)
from ketacare.domain.intake.verdict import IntakeRulesConfig, assess_intake

EXAMPLE = Path(__file__).with_name("example_intake.json")
ALL_MET = Dsm5Attestations(True, True, True, True)


def example() -> Intake:
    return intake_from_dict(json.loads(EXAMPLE.read_text()))


def trial(
    drug: str = "x",
    cls: str | None = "ssri",
    weeks: float | None = 8,
    adequate: bool | None = True,
    outcome: str | None = "no_response",
    current: bool | None = True,
) -> AntidepressantTrial:
    return AntidepressantTrial(drug, cls, 100, weeks, adequate, outcome, current)  # type: ignore[arg-type]


def with_trials(*trials: AntidepressantTrial, base: Intake | None = None) -> Intake:
    b = base or Intake()
    return dataclasses.replace(
        b, treatment=dataclasses.replace(b.treatment, antidepressant_trials=trials)
    )


def with_medical(base: Intake, **changes: object) -> Intake:
    return dataclasses.replace(base, medical=dataclasses.replace(base.medical, **changes))  # type: ignore[arg-type]


# --- DSM-5 (clinical.md §3, §8 test cases) ---------------------------------------------------
@pytest.mark.parametrize(
    ("items", "a_status"),
    [
        ([0] * 9, "not_met"),
        ([2, 2, 2, 2, 2, 0, 0, 0, 0], "met"),
        ([2, 0, 2, 2, 2, 0, 0, 0, 1], "met"),  # item 9 counts at 1
        ([0, 0, 3, 3, 3, 3, 3, 3, 3], "not_met"),  # no core symptom
        ([2, 2, 2, 2, 1, 1, 1, 1, 0], "not_met"),  # 4 symptoms
        ([2, None, 2, 2, 2, 1, 1, 1, 0], "unknown"),  # unanswered could make 5
        ([None, None, 3, 3, 3, 3, 3, 3, 3], "unknown"),
        ([0, 0, None, None, None, None, None, None, None], "not_met"),
        ([2, 2, 2, None, 0, 0, 0, 0, 0], "not_met"),  # 3 + 1 unknown < 5
    ],
)
def test_dsm5_criterion_a(items: list[int | None], a_status: str) -> None:
    assert assess_major_depressive_episode(items, ALL_MET).status("A") == a_status


def test_dsm5_mapping_item1_is_a2_and_item9_is_a9() -> None:
    r = assess_major_depressive_episode([3, 0, 0, 0, 0, 0, 0, 0, 1], ALL_MET)
    assert r.status("A2") == "met"
    assert r.status("A1") == "not_met"
    assert r.status("A9") == "met"
    assert [c.code for c in r.criteria] == [f"A{i}" for i in range(1, 10)] + list("ABCDE")


def test_dsm5_conclusions() -> None:
    mdd = [2, 2, 2, 2, 2, 0, 0, 0, 0]
    assert assess_major_depressive_episode(mdd, ALL_MET).conclusion == "meets"
    r = assess_major_depressive_episode(mdd, Dsm5Attestations(True, None, True, None))
    assert r.conclusion == "cannot_determine"
    assert r.missing == ("C", "E")
    assert "C, E" in r.reason.text
    r = assess_major_depressive_episode(mdd, Dsm5Attestations(True, None, True, False))
    assert r.conclusion == "does_not_meet"  # a definite "not met" decides
    assert "E" in r.reason.text


def test_dsm5_every_reason_has_id_text_source() -> None:
    r = assess_major_depressive_episode(None, Dsm5Attestations())
    for c in r.criteria:
        assert c.reason.rule_id == f"DSM5-{c.code}"
        assert c.reason.text
        assert c.reason.source
    assert r.missing == ("A", "B", "C", "D", "E")


# --- TRD (clinical.md §4.1) ------------------------------------------------------------------
def test_trd_counts_only_adequate_current_episode_failures() -> None:
    i = with_trials(
        trial("a"),
        trial("b"),
        trial("c", outcome="response"),
        trial("d", current=False),
        trial("e", adequate=False),
        trial("f", outcome="not_tolerated"),
    )
    r = assess_trd(i)
    assert (r.adequate_failures, r.trd) == (2, True)


def test_trd_min_weeks_configurable_6_default_4_allowed() -> None:
    i = with_trials(trial("a", weeks=8), trial("b", weeks=5))
    assert assess_trd(i).trd is False
    assert assess_trd(i, TrdConfig(min_weeks=4)).trd is True
    with pytest.raises(DomainError, match="min_weeks"):
        TrdConfig(min_weeks=2)


def test_trd_unknown_when_facts_missing() -> None:
    r = assess_trd(with_trials(trial("a"), trial("b", weeks=None)))
    assert r.trd is None
    assert r.missing == ("treatment.antidepressant_trials[1] (b)",)
    assert assess_trd(Intake()).missing == ("treatment.antidepressant_trials",)
    assert assess_trd(with_trials()).trd is False  # no trials recorded as none


def test_msm_reference_cases() -> None:
    # clinical.md §8: 8-month episode, moderate, 3 failed ADs, augmentation, no ECT -> 7 moderate
    i = Intake(
        assessed_on=date(2025, 9, 1),
        episode=EpisodeHistory(date(2025, 1, 1)),
        treatment=TreatmentHistory(
            (trial("a"), trial("b"), trial("c")), augmentation=True, ect=False
        ),
        clinician_severity="moderate",
    )
    m = maudsley_stage(i, assess_trd(i), None)
    assert (m.total, m.band) == (7, "moderate")
    i2 = dataclasses.replace(
        i,
        treatment=TreatmentHistory((trial("a"),), augmentation=False, ect=False),
        clinician_severity="subsyndromal",
    )
    m2 = maudsley_stage(i2, assess_trd(i2), None)
    assert (m2.total, m2.band) == (3, "mild")


@pytest.mark.parametrize(
    ("n", "score"), [(0, 1), (2, 1), (3, 2), (4, 2), (5, 3), (6, 3), (7, 4), (10, 4), (11, 5)]
)
def test_msm_antidepressant_levels(n: int, score: int) -> None:
    assert msm_antidepressant_score(n) == score


@pytest.mark.parametrize(
    ("start", "score"),
    [
        (date(2024, 9, 1), 1),
        (date(2024, 8, 15), 1),
        (date(2024, 8, 1), 2),
        (date(2023, 9, 1), 2),
        (date(2023, 8, 1), 3),
    ],
)
def test_msm_duration_boundaries(start: date, score: int) -> None:
    i = Intake(
        assessed_on=date(2025, 9, 1),
        episode=EpisodeHistory(start),
        treatment=TreatmentHistory((), False, None, False),
        clinician_severity="severe",
    )
    assert maudsley_stage(i, assess_trd(i), None).duration == score


def test_msm_severity_from_phq9_and_missing() -> None:
    i = Intake(treatment=TreatmentHistory((), None, None, None))
    m = maudsley_stage(i, assess_trd(i), "moderately_severe")
    assert m.severity == 4
    assert m.total is None
    assert set(m.missing) == {
        "episode.current_episode_start",
        "treatment.augmentation",
        "treatment.ect",
    }
    assert example_msm() == (9, "moderate")


def example_msm() -> tuple[int | None, str | None]:
    a = assess_intake(example())
    return a.msm.total, a.msm.band


def test_completed_months_rounds_down() -> None:
    assert completed_months(date(2024, 1, 15), date(2025, 1, 30)) == 12
    assert completed_months(date(2025, 2, 1), date(2025, 1, 1)) == 0


@pytest.mark.parametrize(
    ("classes", "bilateral", "stage"),
    [
        ((), None, "0"),
        (("ssri",), None, "I"),
        (("ssri", "ssri"), None, "I"),
        (("ssri", "snri"), None, "II"),
        (("ssri", "tca"), None, "II"),  # strict reading (clinical.md §4.3)
        (("ssri", "snri", "tca"), None, "III"),
        (("ssri", "snri", "tca", "maoi"), False, "IV"),
        (("ssri", "snri", "tca", "maoi"), True, "V"),
    ],
)
def test_thase_rush(classes: tuple[str, ...], bilateral: bool | None, stage: str) -> None:
    i = with_trials(*(trial(c, c) for c in classes))
    i = dataclasses.replace(
        i, treatment=dataclasses.replace(i.treatment, ect_bilateral_failed=bilateral)
    )
    assert thase_rush_stage(i, assess_trd(i)).label == stage


def test_thase_rush_uncertain_without_class() -> None:
    i = with_trials(trial("a", None), trial("b", "ssri"))
    r = thase_rush_stage(i, assess_trd(i))
    assert (r.label, r.uncertain) == ("I", True)


# --- Eligibility (clinical.md §5) ------------------------------------------------------------
def test_example_is_eligible_for_both() -> None:
    a = assess_intake(example())
    assert a.iv_ketamine.status == "eligible"
    assert a.esketamine.status == "eligible"


@pytest.mark.parametrize(
    ("field", "rule"),
    [
        ("aneurysmal_vascular_disease", "CI-ANEURYSM"),
        ("arteriovenous_malformation", "CI-AVM"),
        ("intracerebral_haemorrhage", "CI-ICH"),
        ("ketamine_hypersensitivity", "CI-HYPERSENS"),
    ],
)
def test_label_contraindications_make_esketamine_not_eligible(field: str, rule: str) -> None:
    a = assess_intake(with_medical(example(), **{field: True}))
    assert a.esketamine.status == "not_eligible"
    assert any(r.rule_id == f"ESK-{rule}" for r in a.esketamine.contraindications)
    assert a.iv_ketamine.status == "not_eligible"  # ketacare policy, configurable
    cfg = IntakeRulesConfig(
        eligibility=EligibilityConfig(apply_esketamine_contraindications_to_iv=False)
    )
    expected = "not_eligible" if rule == "CI-HYPERSENS" else "needs_review"
    assert (
        assess_intake(with_medical(example(), **{field: True}), cfg).iv_ketamine.status == expected
    )


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"hypertension": True, "hypertension_controlled": False}, "HTN"),
        ({"psychotic_disorder": True}, "PSYCHOSIS"),
        (
            {
                "substance_use_disorder": True,
                "substances": ("alcohol",),
                "substance_use_recency": "current",
            },
            "SUD",
        ),
        ({"pregnant_or_lactating": True}, "PREGNANCY"),
        ({"hepatic_impairment": True, "child_pugh": "B"}, "HEPATIC"),
        ({"benzodiazepine_lorazepam_eq_mg": 4.0}, "BENZO"),
        ({"maoi": True}, "MAOI"),
        ({"psychostimulant": True}, "STIMULANT"),
        ({"cardiac_disease": True}, "CARDIAC"),
        ({"mania_or_hypomania": True}, "MANIA"),
    ],
)
def test_relative_cautions_need_review(changes: dict[str, object], rule: str) -> None:
    a = assess_intake(with_medical(example(), **changes))
    for e in (a.iv_ketamine, a.esketamine):
        assert e.status == "needs_review"
        assert [r.rule_id[4:] for r in e.cautions] == [rule]
        assert all(r.source for r in e.reasons)


def test_benzodiazepine_threshold_is_configurable_and_strict() -> None:
    i = with_medical(example(), benzodiazepine_lorazepam_eq_mg=3.0)
    assert assess_intake(i).esketamine.status == "eligible"
    cfg = IntakeRulesConfig(eligibility=EligibilityConfig(benzodiazepine_above_mg=2.0))
    assert assess_intake(i, cfg).esketamine.status == "needs_review"


def test_raised_blood_pressure_needs_review() -> None:
    from ketacare.domain.intake.model import BloodPressure

    i = dataclasses.replace(example(), blood_pressure=BloodPressure(150, 85, date(2025, 3, 1)))
    a = assess_intake(i)
    assert a.esketamine.status == "needs_review"
    assert "150/85" in a.esketamine.cautions[0].text


def test_missing_facts_make_incomplete_and_are_named() -> None:
    i = with_medical(example(), maoi=None, hepatic_impairment=True, child_pugh=None)
    i = dataclasses.replace(i, blood_pressure=None)
    a = assess_intake(i)
    assert a.esketamine.status == "incomplete"
    assert set(a.esketamine.missing_fields) == {"medical.maoi", "blood_pressure"}
    assert any("medical.maoi" in r.text for r in a.esketamine.missing)


def test_pregnancy_not_asked_for_male() -> None:
    i = with_medical(example(), pregnant_or_lactating=None)
    assert assess_intake(i).esketamine.status == "incomplete"
    male = dataclasses.replace(i, demographics=dataclasses.replace(i.demographics, sex="male"))
    assert assess_intake(male).esketamine.status == "eligible"


def test_contraindication_wins_over_missing() -> None:
    i = with_medical(Intake(), arteriovenous_malformation=True)
    assert assess_intake(i).esketamine.status == "not_eligible"
    assert assess_intake(Intake()).esketamine.status == "incomplete"


def test_not_trd_and_minor_and_no_mde_are_not_eligible() -> None:
    i = with_trials(trial("a"), base=example())
    assert assess_intake(i).esketamine.status == "not_eligible"
    assert assess_intake(i).iv_ketamine.status == "not_eligible"
    cfg = IntakeRulesConfig(eligibility=EligibilityConfig(iv_requires_trd=False))
    assert assess_intake(i, cfg).iv_ketamine.status == "needs_review"
    young = dataclasses.replace(
        example(), demographics=dataclasses.replace(example().demographics, age_years=16)
    )
    assert assess_intake(young).esketamine.status == "not_eligible"
    no_mde = dataclasses.replace(example(), dsm5=Dsm5Attestations(True, True, True, False))
    assert assess_intake(no_mde).esketamine.status == "not_eligible"


def test_esketamine_mdsi_indication_when_not_trd_with_suicidality() -> None:
    i = with_trials(trial("a"), base=example())
    i = dataclasses.replace(i, screening=dataclasses.replace(i.screening, cssrs_risk="moderate"))
    a = assess_intake(i)
    assert a.esketamine.status == "eligible"
    assert any(r.rule_id == "ESK-MDSI" for r in a.esketamine.notes)


def test_age_65_note_for_esketamine() -> None:
    old = dataclasses.replace(
        example(), demographics=dataclasses.replace(example().demographics, age_years=70)
    )
    assert any(r.rule_id == "ESK-AGE65" for r in assess_intake(old).esketamine.notes)


# --- Pathway ---------------------------------------------------------------------------------
def with_phq9(base: Intake, items: list[int], cssrs: str | None = "none") -> Intake:
    return dataclasses.replace(base, screening=Screening(tuple(items), None, cssrs))  # type: ignore[arg-type]


def test_pathway_urgent_on_item9_or_cssrs() -> None:
    p = assess_intake(with_phq9(example(), [2, 2, 2, 2, 2, 0, 0, 0, 1])).pathway
    assert p.primary == "urgent_evaluation"
    assert p.recommendations[0].reasons[0].rule_id == "PATH-URGENT-ITEM9"
    p = assess_intake(with_phq9(example(), [0] * 9, "high")).pathway
    assert p.primary == "urgent_evaluation"
    assert "hospitalisation" in p.recommendations[0].text
    assert any(r.rule_id == "PATH-HOSPITALISATION" for r in p.reasons)
    assert assess_intake(with_phq9(example(), [0] * 9, "low")).pathway.primary == "monitor"


def test_pathway_mild_gives_self_care_with_sources() -> None:
    p = assess_intake(with_phq9(example(), [1, 1, 1, 1, 1, 1, 0, 0, 0])).pathway
    assert p.primary == "self_care_and_rescreen"
    ids = {r.rule_id for r in p.recommendations[0].reasons}
    for topic in ("SLEEP", "ACTIVITY", "ALCOHOL", "DAYLIGHT", "SOCIAL"):
        assert f"PATH-SELFCARE-{topic}" in ids
    assert all(r.source for r in p.reasons)


def test_pathway_moderate_not_trd_psychotherapy_or_antidepressant() -> None:
    i = with_trials(trial("a"), base=example())
    assert assess_intake(i).pathway.primary == "psychotherapy_or_antidepressant"


def test_pathway_trd_eligible_is_ketamine_evaluation() -> None:
    p = assess_intake(example()).pathway
    assert p.primary == "ketamine_evaluation"
    assert any(r.rule_id == "PATH-FAMILY" for r in p.reasons)


def test_pathway_trd_not_eligible_alternatives_and_incomplete() -> None:
    i = with_medical(example(), arteriovenous_malformation=True)
    assert assess_intake(i).pathway.primary == "trd_alternatives"
    i = with_medical(example(), maoi=None)
    assert assess_intake(i).pathway.primary == "complete_eligibility"


def test_pathway_weighs_age_sex_and_physical_health() -> None:
    i = with_medical(example(), pregnant_or_lactating=None, cardiac_disease=True)
    i = dataclasses.replace(i, demographics=dataclasses.replace(i.demographics, age_years=70))
    ids = {r.rule_id for r in assess_intake(i).pathway.reasons}
    assert {"PATH-AGE-OLDER", "PATH-SEX", "PATH-PHYSICAL", "PATH-SEVERITY"} <= ids


# --- Intake JSON -----------------------------------------------------------------------------
def test_intake_json_round_trip_and_schema() -> None:
    data = json.loads(EXAMPLE.read_text())
    jsonschema.validate(data, intake_schema())
    i = intake_from_dict(data)
    again = intake_to_dict(i)
    jsonschema.validate(again, intake_schema())
    assert intake_from_dict(again) == i
    jsonschema.validate(intake_to_dict(Intake()), intake_schema())


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"demographics": {"age_years": 200}}, "demographics.age_years"),
        ({"demographics": {"weight_kg": 10}}, "demographics.weight_kg"),
        ({"medical": {"child_pugh": "D"}}, "medical.child_pugh"),
        ({"medical": {"hypertension": "yes"}}, "medical.hypertension"),
        ({"medical": {"unknown_flag": True}}, "medical.unknown_flag"),
        ({"screening": {"phq9": [0, 0, 0, 0, 0, 0, 0, 0, 4]}}, "screening.phq9.9"),
        (
            {"treatment": {"antidepressant_trials": [{"weeks": 3}]}},
            "treatment.antidepressant_trials[0].drug",
        ),
        ({"assessed_on": "2025-13-01"}, "assessed_on"),
        (
            {"blood_pressure": {"systolic_mmhg": 80, "diastolic_mmhg": 90}},
            "blood_pressure.diastolic_mmhg",
        ),
    ],
)
def test_intake_json_rejects_with_field(patch: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidAnswer) as exc:
        intake_from_dict(patch)
    assert exc.value.field == field
    if field not in {"assessed_on", "blood_pressure.diastolic_mmhg"}:  # beyond JSON Schema
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(patch, intake_schema())


def test_null_is_unknown_not_no() -> None:
    i = intake_from_dict({"medical": {"hypertension": None, "maoi": False}})
    assert i.medical.hypertension is None
    assert i.medical.maoi is False
    assert MedicalHistory().maoi is None
