"""Clinic analytics on a hand-computed cohort, and agreement with ketacare.domain.mbc.outcomes."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import numpy.testing as npt
import pytest

from ketacare.domain.analytics import (
    AnalyticsConfig,
    AssessmentTable,
    SessionTable,
    analyse_outcomes,
    compute_patient_outcomes,
    wilson_interval,
)
from ketacare.domain.errors import DomainError
from ketacare.domain.mbc.outcomes import (
    PHQ9_RELAPSE_DEFAULT,
    Assessment,
    detect_relapse,
    is_remission,
    is_response,
    select_baseline,
)

from .analytics_support import hand_tables


@pytest.fixture(scope="module")
def hand():  # type: ignore[no-untyped-def]
    a, s, p = hand_tables()
    return analyse_outcomes(a, s, p, by=("protocol", "sex", "age-band"))


def test_counts_and_course(hand) -> None:  # type: ignore[no-untyped-def]
    o = hand.overall
    assert o.n_patients == 4 and o.n_analysable == 3
    assert (o.induction_completed.k, o.induction_completed.n) == (2, 4)
    assert (o.dropout_after_first.k, o.dropout_after_first.n) == (1, 4)
    assert o.dropout_after_first.ci == pytest.approx(wilson_interval(1, 4))
    assert hand.patients.n_assessments_untreated == 2


def test_fixed_timepoints(hand) -> None:  # type: ignore[no-untyped-def]
    d14, d28, d42 = hand.overall.timepoints
    assert (d14.n_observed, d14.response.k, d14.response.n, d14.remission.k) == (3, 1, 3, 0)
    assert d14.change.mean == pytest.approx(-26 / 3)
    assert d14.change.sd == pytest.approx(np.std([-11, -3, -12], ddof=1))
    assert d14.change.mean_baseline == pytest.approx(21.0)
    assert (d28.response.k, d28.response.n, d28.remission.k, d28.remission.n) == (2, 2, 1, 2)
    assert (d42.response.k, d42.response.n, d42.remission.k) == (1, 2, 1)
    assert d28.response.ci == pytest.approx(wilson_interval(2, 2))


def test_end_of_induction_and_ever(hand) -> None:  # type: ignore[no-untyped-def]
    o = hand.overall
    eoi = o.end_of_induction
    assert (eoi.n_observed, eoi.response.k, eoi.remission.k) == (2, 2, 0)
    assert (o.ever.response.k, o.ever.response.n, o.ever.remission.k) == (2, 3, 2)
    npt.assert_allclose(hand.patients.eoi_total, [9, np.nan, 10, 10])  # D: no baseline


def test_kaplan_meier_tables(hand) -> None:  # type: ignore[no-untyped-def]
    km = hand.overall.time_to_response
    assert km.time_days.tolist() == [0, 13, 14, 27]
    assert km.n_at_risk.tolist() == [3, 3, 2, 1]
    assert km.survival.tolist() == [1, 1, 0.5, 0]
    rel = hand.overall.time_to_relapse
    assert rel is not None
    assert rel.time_days.tolist() == [0, 15, 28]  # C censored 15 d after response, A relapsed
    assert rel.events.tolist() == [0, 0, 1]
    npt.assert_allclose(hand.patients.relapse_day, [42, np.nan, np.nan, np.nan])


def test_breakdowns(hand) -> None:  # type: ignore[no-untyped-def]
    by = {k: {g.group: g for g in v} for k, v in hand.breakdowns.items()}
    assert set(by["protocol"]) == {"esketamine-trd", "iv-ketamine-induction"}
    assert by["protocol"]["iv-ketamine-induction"].n_patients == 3
    assert by["protocol"]["esketamine-trd"].induction_completed.k == 1
    assert {g: s.n_patients for g, s in by["sex"].items()} == {
        "female": 2, "male": 1, "unknown": 1
    }  # fmt: skip
    assert set(by["age-band"]) == {"25-34", "45-54", "65+", "unknown"}
    assert by["sex"]["female"].end_of_induction.response.k == 2


def test_json_shape_and_definitions(hand) -> None:  # type: ignore[no-untyped-def]
    d = hand.as_dict()
    for key in ("n_patients", "response_rate", "response_ci", "remission_rate", "remission_ci"):
        assert key in d
    assert d["n_patients"] == 4 and d["response_rate"] == 1.0
    km = d["kaplan_meier"]
    assert {"time_days", "n_at_risk", "events", "survival"} <= km.keys()
    defs = d["definitions"]
    assert defs["remission_threshold"] == 4 and defs["response_reduction"] == 0.5
    assert "Wilson" in defs["interval"]
    assert any("[U]" in u for u in defs["unverified"])


def test_missing_as_failure_changes_denominator() -> None:
    a, s, p = hand_tables()
    r = analyse_outcomes(a, s, p, config=AnalyticsConfig(missing_as_failure=True))
    d28 = r.overall.timepoints[1]
    assert (d28.response.k, d28.response.n) == (2, 3)


def test_configurable_thresholds_and_baseline() -> None:
    a, s, _ = hand_tables()
    from dataclasses import replace

    cfg = AnalyticsConfig()
    cfg = replace(cfg, outcome=replace(cfg.outcome, remission={"phq9": 9}))
    r = analyse_outcomes(a, s, config=cfg)
    rem = r.overall.timepoints[0].remission
    assert rem is not None and rem.k == 1  # A scores 9 on day 14
    assert r.definitions.remission_threshold == 9
    first = analyse_outcomes(a, s, config=AnalyticsConfig(baseline="first_before_first_session"))
    npt.assert_allclose(first.patients.baseline_total[:3], [22, 18, 25])
    old = analyse_outcomes(a, s, config=AnalyticsConfig(baseline_max_days_before=2))
    assert old.overall.n_analysable == 3
    strict = analyse_outcomes(a, s, config=AnalyticsConfig(min_baseline_total=19))
    assert strict.overall.n_analysable == 2


def test_bad_config_and_inputs() -> None:
    with pytest.raises(DomainError):
        AnalyticsConfig(timepoints_days=(0.0,))
    with pytest.raises(DomainError):
        AssessmentTable.from_arrays("phq9", [1, 2], ["2024-01-01"], [1, 2])
    with pytest.raises(DomainError):
        AssessmentTable.from_arrays("phq9", [1], ["not a date"], [1])
    with pytest.raises(DomainError):
        AssessmentTable.from_arrays("phq9", [1], ["2024-01-01"], [np.nan])


def test_empty_assessments() -> None:
    a = AssessmentTable.from_arrays("phq9", [], np.array([], "datetime64[s]"), [])
    s = SessionTable.from_arrays([1], ["2024-01-01"], ["x"])
    r = analyse_outcomes(a, s)
    assert r.overall.n_patients == 1 and r.overall.n_analysable == 0
    assert r.overall.end_of_induction.response.rate is None
    assert r.as_dict()["response_ci"] is None


# --- agreement with the per-patient rules of ketacare.domain.mbc.outcomes ---------------------


def _random_clinic(seed: int, n: int = 250, int_ids: bool = False):  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(seed)
    start = datetime(2024, 3, 1)
    ids, whens, totals, s_ids, s_whens = [], [], [], [], []
    for i in range(n):
        pid: str | int = i * 7 if int_ids else f"P{i:04d}"
        t0 = start + timedelta(days=int(rng.integers(0, 50)), hours=9)
        k = int(rng.integers(1, 9))
        gaps = np.cumsum(np.r_[0, rng.integers(1, 5, k - 1)])
        for g in gaps:
            s_ids.append(pid)
            s_whens.append(t0 + timedelta(days=int(g)))
        m = int(rng.integers(0, 14))
        offs = np.sort(
            rng.choice(np.arange(-5 * 24, 70 * 24), m, replace=False)
        )  # hours from the first session
        level = float(rng.integers(0, 28))
        for h in offs:
            ids.append(pid)
            whens.append(t0 + timedelta(hours=int(h)))
            level = float(np.clip(level + rng.integers(-6, 6), 0, 27))
            totals.append(level)
    perm = rng.permutation(len(ids))
    a = AssessmentTable.from_arrays(
        "phq9",
        np.array(ids)[perm],
        np.array(whens, dtype="datetime64[s]")[perm],
        np.array(totals)[perm],
    )
    s = SessionTable.from_arrays(s_ids, np.array(s_whens, dtype="datetime64[s]"), "esketamine-trd")
    return a, s, ids, whens, totals, s_ids, s_whens


@pytest.mark.parametrize(("seed", "int_ids"), [(11, False), (12, False), (13, True), (14, True)])
def test_agrees_with_per_patient_outcomes(seed: int, int_ids: bool) -> None:
    a, s, ids, whens, totals, s_ids, s_whens = _random_clinic(seed, int_ids=int_ids)
    per = compute_patient_outcomes(a, s)
    series: dict[str | int, list[Assessment]] = {}
    for pid, w, t in zip(ids, whens, totals, strict=True):
        series.setdefault(pid, []).append(Assessment(w, t))
    first: dict[str | int, datetime] = {}
    for pid, w in zip(s_ids, s_whens, strict=True):
        first[pid] = min(first.get(pid, w), w)
    checked = 0
    for i, pid in enumerate(per.patient_id.tolist()):
        t0 = first[pid]
        rows = sorted(series.get(pid, []), key=lambda x: x.when)
        base = select_baseline(rows, first_treatment=t0)
        ok = base is not None and base.total > 0
        assert per.analysable[i] == ok
        if not ok:
            assert np.isnan(per.response_day[i])
            continue
        assert base is not None
        assert per.baseline_total[i] == base.total
        post = [x for x in rows if x.when > t0]

        def days(x: Assessment, t0: datetime = t0) -> float:
            return (x.when - t0).total_seconds() / 86400

        resp = [x for x in post if is_response(base.total, x.total)]
        rem = [x for x in post if is_remission("phq9", x.total)]
        assert per.response_day[i] == pytest.approx(days(resp[0]) if resp else np.nan, nan_ok=True)
        assert per.remission_day[i] == pytest.approx(days(rem[0]) if rem else np.nan, nan_ok=True)
        # day 28 +/- 7: nearest, ties to the earlier
        near = [x for x in post if abs(days(x) - 28) <= 7]
        want = min(near, key=lambda x: (abs(days(x) - 28), x.when)).total if near else np.nan
        assert per.timepoint_total[i, 1] == pytest.approx(want, nan_ok=True)
        # relapse: SUSTAIN-1-style rule after the first response
        if resp:
            after = [x for x in post if x.when > resp[0].when]
            rel = detect_relapse(after, PHQ9_RELAPSE_DEFAULT)
            want_rel = days(Assessment(rel.when, 0)) if rel else np.nan
            assert per.relapse_day[i] == pytest.approx(want_rel, nan_ok=True)
            checked += rel is not None
    assert checked > 0  # the random clinic exercised at least one relapse
