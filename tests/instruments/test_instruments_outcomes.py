"""Outcome rules (§6) and pure alert rules."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import ScoringConfig, score
from ketacare.domain.mbc.alerts import AlertConfig, evaluate_alerts, shows_crisis_guidance
from ketacare.domain.mbc.outcomes import (
    PHQ9_RELAPSE_DEFAULT,
    SUSTAIN1_MADRS,
    Assessment,
    OutcomeConfig,
    RciParams,
    RelapseEvent,
    RelapseRule,
    detect_relapse,
    is_remission,
    is_response,
    mcid,
    outcome,
    percent_change,
    reliable_change_index,
    select_baseline,
)

T0 = datetime(2024, 1, 1, 9, 0)


def _at(days: float, total: float) -> Assessment:
    return Assessment(T0 + timedelta(days=days), total)


# -- outcomes ------------------------------------------------------------------------------


def test_baseline_is_last_score_before_first_session_or_chosen() -> None:
    series = [_at(-14, 30), _at(-1, 28), _at(3, 20)]
    assert select_baseline(series, first_treatment=T0) == series[1]
    assert select_baseline(series, first_treatment=T0, chosen=series[0].when) == series[0]
    assert select_baseline(series, first_treatment=T0 - timedelta(days=30)) is None
    with pytest.raises(InvalidAnswer):
        select_baseline(series, chosen=T0)


def test_percent_change_response_and_zero_baseline() -> None:
    assert percent_change(20, 10) == 0.5
    assert percent_change(0, 3) is None
    assert is_response(20, 10)
    assert not is_response(20, 11)
    assert not is_response(0, 0)


@pytest.mark.parametrize(
    ("instrument_id", "at", "above"),
    [("madrs", 12, 13), ("hamd17", 7, 8), ("phq9", 4, 5), ("qids-sr16", 5, 6)],
)
def test_remission_thresholds(instrument_id: str, at: int, above: int) -> None:
    assert is_remission(instrument_id, at) is True
    assert is_remission(instrument_id, above) is False


def test_remission_configurable_and_absent() -> None:
    assert is_remission("madrs", 11, OutcomeConfig(remission={"madrs": 10})) is False
    assert is_remission("gad7", 0) is None


def test_mcid_and_rci() -> None:
    assert mcid("phq9") == 5
    assert mcid("madrs") is None
    assert mcid("madrs", OutcomeConfig(mcid={"madrs": 6})) == 6
    params = RciParams(sd_pre=5.0)
    # S_diff = sqrt(2) * 5 * sqrt(0.16) = 2.828...; smallest reliable change 1.96 * S_diff
    assert reliable_change_index(20, 14, params) == pytest.approx(-6 / 2.8284271, rel=1e-6)
    with pytest.raises(InvalidAnswer):
        RciParams(sd_pre=0).s_diff()


def test_sustain1_relapse_rejects_3_days_accepts_7_days() -> None:
    assert detect_relapse([_at(0, 24), _at(3, 22)], SUSTAIN1_MADRS) is None
    relapse = detect_relapse([_at(0, 24), _at(7, 22)], SUSTAIN1_MADRS)
    assert relapse is not None
    assert relapse.when == T0 + timedelta(days=7)
    assert relapse.trigger == "score"


def test_relapse_needs_consecutive_assessments_and_events_count() -> None:
    assert detect_relapse([_at(0, 24), _at(4, 10), _at(8, 23)], SUSTAIN1_MADRS) is None
    assert detect_relapse([_at(0, 24), _at(16, 23)], SUSTAIN1_MADRS) is None
    event = RelapseEvent(T0 + timedelta(days=2), "hospitalisation")
    relapse = detect_relapse([_at(0, 24), _at(7, 22)], SUSTAIN1_MADRS, [event])
    assert relapse is not None
    assert relapse.trigger == "event:hospitalisation"
    first = RelapseRule(22, date_on="first")
    found = detect_relapse([_at(0, 24), _at(7, 22)], first)
    assert found is not None
    assert found.when == T0


def test_outcome_summary() -> None:
    series = [_at(-2, 32), _at(1, 20), _at(14, 10), _at(21, 24), _at(28, 25)]
    cfg = OutcomeConfig(rci={"madrs": RciParams(sd_pre=6.0, rxx=0.8)})
    out = outcome("madrs", series[:3], first_treatment=T0, config=cfg)
    assert out.baseline == series[0]
    assert (out.change, out.response, out.remission) == (-22, True, True)
    assert out.percent_change == pytest.approx(22 / 32)
    assert out.reliable_improvement is True
    assert out.mcid_improved is None
    late = outcome("madrs", series, first_treatment=T0)
    assert late.relapse is not None
    assert late.remission is False
    phq = outcome("phq9", [_at(-1, 20), _at(10, 14)], first_treatment=T0)
    assert phq.mcid_improved is True
    assert PHQ9_RELAPSE_DEFAULT.threshold == 10
    with pytest.raises(InvalidAnswer):
        outcome("phq9", [])


# -- alerts --------------------------------------------------------------------------------


def _rules(*args: object, **kwargs: object) -> list[str]:
    return [a.rule_id for a in evaluate_alerts(*args, **kwargs)]  # type: ignore[arg-type]


def test_alert_phq9_item9() -> None:
    alerts = evaluate_alerts(score("phq9", [0] * 8 + [2]))
    assert [(a.rule_id, a.level) for a in alerts] == [("phq9.item9", "high")]
    assert "= 2" in alerts[0].reason
    assert alerts[0].source


def test_alert_cssrs_levels() -> None:
    high = score("cssrs-screen-recent", {"1": 1, "2": 1, "3": 0, "4": 1, "5": 0, "6": 0})
    mod = score("cssrs-screen-recent", {"1": 0, "2": 0, "6": 1, "6a": 0})
    low = score("cssrs-screen-recent", {"1": 1, "2": 0, "6": 0})
    assert [(a.rule_id, a.level) for a in evaluate_alerts(high)] == [("cssrs.high", "critical")]
    assert [(a.rule_id, a.level) for a in evaluate_alerts(mod)] == [("cssrs.moderate", "high")]
    assert evaluate_alerts(low) == ()


def test_alert_worsening_by_mcid_from_baseline() -> None:
    base = score("phq9", [1] * 8 + [0])  # 8
    worse = score("phq9", [2] * 6 + [1, 0, 0])  # 13
    assert _rules(worse, baseline=base) == ["worsening.mcid"]
    slightly = score("phq9", [2] * 6 + [0, 0, 0])  # 12
    assert _rules(slightly, baseline=base) == []
    assert _rules(slightly, baseline=base, config=AlertConfig(mcid={"phq9": 4})) == [
        "worsening.mcid"
    ]


def test_alert_worsening_names_its_baseline() -> None:
    base = score("phq9", [1] * 8 + [0])  # 8
    worse = score("phq9", [2] * 6 + [1, 0, 0])  # 13
    plain = evaluate_alerts(worse, baseline=base)[0].reason
    assert plain == "PHQ-9 13 is 5 points worse than baseline 8 (MCID 5)."
    named = evaluate_alerts(worse, baseline=base, baseline_note="screening")[0].reason
    assert named == "PHQ-9 13 is 5 points worse than baseline 8 (screening; MCID 5)."


def test_alert_severe_band_entry_only_on_entry() -> None:
    severe = score("phq9", [3] * 7 + [0, 0])  # 21
    moderate = score("phq9", [2] * 6 + [0, 0, 0])  # 12
    assert _rules(severe, previous=moderate) == ["band.severe_entry"]
    assert _rules(severe, previous=severe) == []
    assert _rules(severe) == ["band.severe_entry"]


def test_alert_uses_clinic_band_set_and_other_safety_flags() -> None:
    cfg = ScoringConfig(band_sets={"madrs": "muller2003"})
    r = score("madrs", [3] * 9 + [4], cfg)  # 31: severe under Müller 2003
    assert _rules(r) == ["band.severe_entry", "flag.suicidal_thoughts_item"]
    sedated = score("moaas", [3])
    assert _rules(sedated) == ["flag.sedation_moderate_plus"]


def test_alert_rules_can_be_disabled_and_instruments_must_match() -> None:
    r = score("phq9", [0] * 8 + [1])
    assert _rules(r, config=AlertConfig(disabled=frozenset({"phq9.item9"}))) == []
    with pytest.raises(InvalidAnswer):
        evaluate_alerts(r, baseline=score("gad7", [0] * 7))


@pytest.mark.parametrize(
    ("instrument_id", "answers", "expected"),
    [
        ("phq9", [0] * 8 + [1], True),  # item 9 >= 1
        ("phq9", [3] * 8 + [0], False),  # severe, but no thoughts of self-harm
        ("qids-sr16", [0] * 11 + [1] + [0] * 4, True),  # item 12 >= 1
        ("qids-sr16", [3] * 11 + [0] + [3] * 4, False),
        ("gad7", [3] * 7, False),
        ("phq2", [3, 3], False),
    ],
)
def test_crisis_guidance_follows_the_self_harm_items(
    instrument_id: str, answers: list[int], expected: bool
) -> None:
    r = score(instrument_id, answers)
    assert shows_crisis_guidance(instrument_id, r.flags, r.band) is expected


@pytest.mark.parametrize(
    ("band", "expected"), [(None, False), ("none", False), ("low", True), ("high", True)]
)
def test_crisis_guidance_on_any_cssrs_yes(band: str | None, expected: bool) -> None:
    for iid in ("cssrs-screen-recent", "cssrs-screen-slv"):
        assert shows_crisis_guidance(iid, set(), band) is expected
