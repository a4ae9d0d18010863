"""Scoring rules: the clinical reference's test cases (§8) and every instrument's rule."""

from __future__ import annotations

import numpy as np
import pytest

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import (
    Band,
    ScoreContext,
    ScoringConfig,
    score,
)
from tests.benchmark_code import score_batch

# -- PHQ-9 (§2.1, §8 test cases) ---------------------------------------------------------------


def test_phq9_all_zeros() -> None:
    r = score("phq9", [0] * 9)
    assert (r.total, r.band) == (0, "none")
    assert "major_depressive_syndrome" not in r.flags
    assert r.flags == frozenset()
    assert r.complete  # item 10 is expected only when the total is above 0


def test_phq9_major_syndrome_with_both_core_items() -> None:
    r = score("phq9", [2, 2, 2, 2, 2, 0, 0, 0, 0])
    assert "major_depressive_syndrome" in r.flags
    assert "other_depressive_syndrome" not in r.flags


def test_phq9_item9_counts_at_one() -> None:
    r = score("phq9", [2, 0, 2, 2, 2, 0, 0, 0, 1])
    assert {"major_depressive_syndrome", "item9_positive"} <= r.flags


def test_phq9_no_core_item_no_syndrome_although_severe() -> None:
    r = score("phq9", [0, 0, 3, 3, 3, 3, 3, 3, 3])
    assert (r.total, r.band) == (21, "severe")
    assert "major_depressive_syndrome" not in r.flags
    assert "other_depressive_syndrome" not in r.flags


def test_phq9_other_syndrome() -> None:
    r = score("phq9", [2, 0, 2, 0, 0, 0, 0, 0, 0])
    assert "other_depressive_syndrome" in r.flags


def test_phq9_item10_never_added_and_completeness() -> None:
    r = score("phq9", [1, 0, 0, 0, 0, 0, 0, 0, 0])
    assert r.total == 1
    assert not r.complete
    r = score("phq9", [1, 0, 0, 0, 0, 0, 0, 0, 0, 3])
    assert r.total == 1
    assert r.complete
    assert r.subscales == {"phq2": 1}


def test_phq9_sdc_example_answers() -> None:
    # HL7 SDC example response (answers 0,0,0,1,2,1,3,2,1; its stored total 13 is wrong).
    r = score("phq9", [0, 0, 0, 1, 2, 1, 3, 2, 1])
    assert (r.total, r.band) == (10, "moderate")
    assert r.flags == frozenset({"item9_positive"})


@pytest.mark.parametrize(
    ("answers", "field", "reason"),
    [
        ([0] * 8, "phq9", "must have 9 to 10 answers, got 8"),
        ([0, 0, None, 0, 0, 0, 0, 0, 0], "phq9.3", "is missing"),
        ([0, 0, 0, 4, 0, 0, 0, 0, 0], "phq9.4", "must be from 0 to 3, got 4"),
        ([0, 0, 0, 0, "1", 0, 0, 0, 0], "phq9.5", "must be an integer from 0 to 3"),
        ([0, 0, 0, 0, 0, True, 0, 0, 0], "phq9.6", "must be an integer from 0 to 3"),
        ([0, 0, 0, 0, 0, 0, 0, 0, 0, 9], "phq9.10", "must be from 0 to 3, got 9"),
    ],
)
def test_invalid_answers_name_the_item(answers: list[object], field: str, reason: str) -> None:
    with pytest.raises(InvalidAnswer) as exc:
        score("phq9", answers)
    assert (exc.value.field, exc.value.reason) == (field, reason)


def test_mapping_answers_and_unknown_item() -> None:
    r = score("gad7", {str(i): 1 for i in range(1, 8)})
    assert r.total == 7
    with pytest.raises(InvalidAnswer) as exc:
        score("gad7", {"8": 1})
    assert exc.value.field == "gad7.8"
    with pytest.raises(InvalidAnswer):
        score("gad7", "1111111")


def test_numpy_integers_are_accepted() -> None:
    assert score("gad7", list(np.array([3, 3, 3, 3, 3, 0, 0]))).band == "severe"


# -- PHQ-2, GAD-7 --------------------------------------------------------------------------


def test_phq2_cutoff_configurable() -> None:
    assert "positive_screen" in score("phq2", [2, 1]).flags
    assert "positive_screen" not in score("phq2", [1, 1]).flags
    lower = ScoringConfig(thresholds={"phq2.positive_screen": 2})
    assert "positive_screen" in score("phq2", [1, 1], lower).flags
    assert score("phq2", [1, 1]).band is None


def test_non_configurable_threshold_is_rejected() -> None:
    with pytest.raises(InvalidAnswer):
        score("phq9", [0] * 9, ScoringConfig(thresholds={"phq9.item9_positive": 2}))


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "none"),
        (4, "none"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_band_edges(total: int, band: str) -> None:
    answers = [min(3, max(0, total - 3 * k)) for k in range(7)]
    assert sum(answers) == total
    assert score("gad7", answers).band == band


# -- QIDS-SR16 (§2.5) ----------------------------------------------------------------------


def test_qids_all_sleep_items_three_adds_three() -> None:
    base = [0] * 16
    r = score("qids-sr16", [3, 3, 3, 3, *base[4:]])
    assert r.total == 3
    assert r.subscales["sleep"] == 3


def test_qids_unanswered_alternative_is_missing_not_error() -> None:
    answers: list[int | None] = [1] * 16
    answers[6] = None  # item 7 (increased appetite) not answered
    answers[7] = None  # item 8 (decreased weight) not answered
    answers[5], answers[8] = 2, 3
    r = score("qids-sr16", answers)
    # max(1..4)=1 + 1 + max(6..9)=3 + 1*5 (10-14) + max(15,16)=1
    assert r.total == 1 + 1 + 3 + 5 + 1
    assert r.subscales["appetite_weight"] == 3


def test_qids_needs_one_of_each_alternative_pair() -> None:
    answers: list[int | None] = [0] * 16
    answers[5] = answers[6] = None
    with pytest.raises(InvalidAnswer) as exc:
        score("qids-sr16", answers)
    assert exc.value.field == "qids-sr16.6"


def test_qids_bands() -> None:
    assert score("qids-sr16", [0] * 16).band == "none"
    assert score("qids-sr16", [3] * 16).band == "very_severe"
    assert score("qids-sr16", [3] * 16).total == 27


# -- HAM-D17 (§2.6) ------------------------------------------------------------------------


def _hamd(sixteen_a: int | None, sixteen_b: int | None, rest: int = 1) -> list[int | None]:
    return [rest] * 15 + [sixteen_a, sixteen_b, rest]


def test_hamd_16a_or_16b() -> None:
    assert score("hamd17", _hamd(2, None)).total == 16 + 2
    assert score("hamd17", _hamd(None, 1)).total == 16 + 1


def test_hamd_16_value_three_is_not_assessed() -> None:
    r = score("hamd17", _hamd(3, None))
    assert r.total == 16
    assert "weight_not_assessed" in r.flags


def test_hamd_16a_and_16b_never_both() -> None:
    with pytest.raises(InvalidAnswer) as exc:
        score("hamd17", _hamd(1, 1))
    assert exc.value.field == "hamd17.16B"
    with pytest.raises(InvalidAnswer) as exc:
        score("hamd17", _hamd(None, None))
    assert exc.value.field == "hamd17.16A"


def test_hamd_item_ranges_and_max_total() -> None:
    with pytest.raises(InvalidAnswer) as exc:
        score("hamd17", [0, 0, 0, 3] + [0] * 11 + [0, None, 0])
    assert exc.value.field == "hamd17.4"  # early insomnia is 0-2
    top = [4, 4, 4, 2, 2, 2, 4, 4, 4, 4, 4, 2, 2, 2, 4, 2, None, 2]
    r = score("hamd17", top)
    assert (r.total, r.band) == (52, "very_severe")


def test_hamd_band_set_is_configurable() -> None:
    answers = _hamd(None, 2, rest=1)  # 16 + 2 = 18
    assert score("hamd17", answers).band == "moderate"
    cfg = ScoringConfig(band_sets={"hamd17": "zimmerman2013"})
    r = score("hamd17", answers, cfg)
    assert (r.band, r.band_set) == ("moderate", "zimmerman2013")
    assert score("hamd17", _hamd(None, 0, rest=1), cfg).band == "mild"  # 16


# -- MADRS (§2.4) --------------------------------------------------------------------------


def test_madrs_total_and_bands() -> None:
    assert score("madrs", [6] * 10).total == 60
    r = score("madrs", [3] * 10 + [])
    assert (r.total, r.band) == (30, "moderate")
    cfg = ScoringConfig(band_sets={"madrs": "muller2003"})
    assert score("madrs", [3] * 9 + [4], cfg).band == "severe"  # 31
    with pytest.raises(InvalidAnswer) as exc:
        score("madrs", [7] + [0] * 9)
    assert exc.value.field == "madrs.1"


def test_clinic_bands() -> None:
    bands = (Band("low", "Low", 0, 29), Band("high", "High", 30, 60, severe=True))
    r = score("madrs", [3] * 10, ScoringConfig(bands={"madrs": bands}))
    assert (r.band, r.band_set) == ("high", "clinic")
    with pytest.raises(InvalidAnswer) as exc:
        score("madrs", [3] * 10, ScoringConfig(bands={"madrs": bands[:1]}))
    assert exc.value.field == "config.madrs"


# -- C-SSRS (§2.7) -------------------------------------------------------------------------


def _cssrs(**yes: int) -> dict[str, int]:
    answers = {"1": 0, "2": 0, "6": 0}
    answers.update({k.removeprefix("q"): v for k, v in yes.items()})
    return answers


def test_cssrs_only_old_behaviour_is_moderate() -> None:
    assert score("cssrs-screen-recent", _cssrs(q6=1, q6a=0)).band == "moderate"


def test_cssrs_recent_behaviour_is_high() -> None:
    answers = _cssrs(q2=1, q3=0, q4=0, q5=0, q6=1, q6a=1)
    r = score("cssrs-screen-recent", answers)
    assert r.band == "high"
    assert "risk_high" in r.flags


def test_cssrs_all_no_is_none_reported_as_safe_t_low() -> None:
    r = score("cssrs-screen-recent", _cssrs())
    assert r.band == "none"
    assert r.safe_t_level == "low"
    assert r.total is None
    assert r.to_dict()["safe_t_level"] == "low"


@pytest.mark.parametrize(
    ("answers", "level"),
    [
        (_cssrs(q1=1), "low"),
        (_cssrs(q2=1, q3=0, q4=0, q5=0), "low"),
        (_cssrs(q2=1, q3=1, q4=0, q5=0), "moderate"),
        (_cssrs(q2=1, q3=0, q4=1, q5=0), "high"),
        (_cssrs(q2=1, q3=0, q4=0, q5=1), "high"),
    ],
)
def test_cssrs_levels(answers: dict[str, int], level: str) -> None:
    assert score("cssrs-screen-recent", answers).band == level


def test_cssrs_skip_logic() -> None:
    with pytest.raises(InvalidAnswer) as exc:
        score("cssrs-screen-recent", _cssrs(q2=1))
    assert exc.value.field == "cssrs-screen-recent.3"
    with pytest.raises(InvalidAnswer) as exc:
        score("cssrs-screen-recent", _cssrs(q4=1))
    assert exc.value.field == "cssrs-screen-recent.4"
    with pytest.raises(InvalidAnswer) as exc:
        score("cssrs-screen-recent", _cssrs(q6=1))
    assert exc.value.field == "cssrs-screen-recent.6a"


def test_cssrs_since_last_visit_rule_is_configurable() -> None:
    answers = _cssrs(q6=1)
    slv = "cssrs-screen-slv"
    assert score(slv, answers).band == "high"  # unknown interval: conservative
    assert score(slv, answers, context=ScoreContext(days_since_last_visit=7)).band == "high"
    assert score(slv, answers, context=ScoreContext(days_since_last_visit=120)).band == "moderate"
    cfg = ScoringConfig(cssrs_slv_recent_days=150)
    ctx = ScoreContext(days_since_last_visit=120)
    assert score(slv, answers, cfg, ctx).band == "high"


# -- CADSS, MOAA/S, BPRS+ -------------------------------------------------------------------


def test_cadss_dissociation_flag() -> None:
    assert "significant_dissociation" not in score("cadss23", [1] * 4 + [0] * 19).flags
    assert "significant_dissociation" in score("cadss23", [1] * 5 + [0] * 18).flags
    assert score("cadss23", [4] * 23).total == 92
    assert score("cadss6", [4] * 6).total == 24
    assert score("cadss6", [4] * 6).flags == frozenset()
    cfg = ScoringConfig(thresholds={"cadss6.significant_dissociation": 2})
    assert "significant_dissociation" in score("cadss6", [1, 1, 1, 0, 0, 0], cfg).flags


def test_moaas_sedation_flags() -> None:
    pre = ScoreContext(pre_dose_score=5)
    r = score("moaas", [4], context=pre)
    assert "sedation_any" in r.flags
    assert "sedation_moderate_plus" not in r.flags
    assert r.band == "mild"
    r = score("moaas", [3], context=pre)
    assert {"sedation_any", "sedation_moderate_plus"} <= r.flags
    r = score("moaas", [0])
    assert {"loss_of_consciousness", "sedation_moderate_plus"} <= r.flags
    assert "sedation_any" not in r.flags  # no pre-dose score given


def test_bprs_positive_conventions() -> None:
    r = score("bprs-positive", [1, 1, 1, 1])
    assert (r.total, r.variant) == (4, "1-7")
    zero_six = ScoringConfig(variants={"bprs-positive": "0-6"})
    r = score("bprs-positive", [0, 0, 0, 0], zero_six)
    assert (r.total, r.variant) == (0, "0-6")
    assert score("bprs-positive", [6] * 4, zero_six).total == 24
    with pytest.raises(InvalidAnswer) as exc:
        score("bprs-positive", [0, 1, 1, 1])
    assert exc.value.field == "bprs-positive.conceptual_disorganisation"


def test_result_to_dict() -> None:
    d = score("phq9", [0, 0, 0, 1, 2, 1, 3, 2, 1]).to_dict()
    assert d["total"] == 10
    assert d["band"] == "moderate"
    assert d["flags"] == ["item9_positive"]
    assert d["answers"]["9"] == 1


# -- batch ---------------------------------------------------------------------------------


def test_batch_reports_the_first_bad_row() -> None:
    a = np.zeros((5, 9), dtype=np.int8)
    a[3, 4] = 7
    with pytest.raises(InvalidAnswer) as exc:
        score_batch("phq9", a)
    assert exc.value.field == "phq9.5"
    assert "row 3" in exc.value.reason
    r = score_batch("phq9", a, on_invalid="mask")
    assert r.valid.tolist() == [True, True, True, False, True]
    assert r.totals.tolist() == [0, 0, 0, -1, 0]
    assert r.band_codes.tolist() == [0, 0, 0, -1, 0]


def test_batch_rejects_bad_shapes() -> None:
    with pytest.raises(InvalidAnswer):
        score_batch("phq9", np.zeros(9, dtype=np.int8))
    with pytest.raises(InvalidAnswer):
        score_batch("phq9", np.zeros((2, 8), dtype=np.int8))
    with pytest.raises(InvalidAnswer):
        score_batch("phq9", np.zeros((2, 9), dtype=np.float64))


def test_batch_hamd_and_cssrs() -> None:
    hamd = np.array([[1] * 15 + [3, -1, 1], [1] * 15 + [-1, 2, 1]])
    r = score_batch("hamd17", hamd)
    assert r.totals.tolist() == [16, 18]
    assert r.flags["weight_not_assessed"].tolist() == [True, False]
    cs = np.array([[0, 0, -1, -1, -1, 1, 0], [0, 1, 0, 0, 1, 0, -1], [0, 0, -1, -1, -1, 0, -1]])
    r = score_batch("cssrs-screen-recent", cs)
    assert [r.band_names[c] for c in r.band_codes] == ["moderate", "high", "none"]
