"""Wilson intervals against statsmodels, Kaplan–Meier against lifelines (1e-9)."""

from __future__ import annotations

import doctest
import importlib
import warnings
from typing import Any

import numpy as np
import numpy.testing as npt
import pytest

from ketacare.domain.analytics import Proportion, kaplan_meier, wilson_interval
from ketacare.domain.errors import DomainError


def _statsmodels_wilson(k: int, n: int, alpha: float) -> tuple[float, float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from statsmodels.stats.proportion import (  # type: ignore[import-untyped]
            proportion_confint,
        )
    lo, hi = proportion_confint(k, n, alpha=alpha, method="wilson")
    return float(lo), float(hi)


@pytest.mark.parametrize(
    ("k", "n"), [(0, 1), (1, 1), (0, 10), (10, 10), (12, 20), (1, 3), (17, 24), (212, 537)]
)
@pytest.mark.parametrize("confidence", [0.95, 0.9, 0.99])
def test_wilson_matches_statsmodels(k: int, n: int, confidence: float) -> None:
    ours = wilson_interval(k, n, confidence)
    ref = _statsmodels_wilson(k, n, 1 - confidence)
    npt.assert_allclose(ours, ref, rtol=0, atol=1e-12)


def test_wilson_hand_value() -> None:
    # 12/20, z = 1.959964: centre 0.58385, half-width 0.19731 (Wilson 1927 formula by hand)
    lo, hi = wilson_interval(12, 20)
    assert lo == pytest.approx(0.38658, abs=5e-5)
    assert hi == pytest.approx(0.78119, abs=5e-5)


@pytest.mark.parametrize(("k", "n"), [(-1, 5), (6, 5), (0, 0)])
def test_wilson_rejects_bad_counts(k: int, n: int) -> None:
    with pytest.raises(DomainError):
        wilson_interval(k, n)


def test_proportion_empty_and_dict() -> None:
    p = Proportion(0, 0)
    assert p.rate is None and p.ci is None
    assert p.as_dict()["ci"] is None
    assert Proportion(3, 4).as_dict()["rate"] == 0.75


def _lifelines_fit(t: np.ndarray, e: np.ndarray):  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from lifelines import KaplanMeierFitter  # type: ignore[import-untyped]

        kmf = KaplanMeierFitter()
        kmf.fit(t, e)
    return kmf


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_kaplan_meier_matches_lifelines(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 400))
    # integer days give many ties between events and censorings
    t = rng.integers(0, 60, n).astype(float) if seed % 2 else rng.exponential(20, n).round(3)
    e = rng.random(n) < 0.6
    km = kaplan_meier(t, e)
    kmf = _lifelines_fit(t, e)
    table = kmf.event_table
    npt.assert_allclose(km.time_days, table.index.to_numpy(float), rtol=0, atol=1e-12)
    npt.assert_array_equal(km.n_at_risk, table["at_risk"].to_numpy())
    npt.assert_array_equal(km.events, table["observed"].to_numpy())
    npt.assert_array_equal(km.censored, table["censored"].to_numpy())
    sf = kmf.survival_function_.iloc[:, 0].to_numpy()
    npt.assert_allclose(km.survival, sf, rtol=0, atol=1e-9)
    ci = kmf.confidence_interval_survival_function_.to_numpy()
    ok = ~np.isnan(km.ci_low)
    npt.assert_allclose(km.ci_low[ok], ci[ok, 0], rtol=0, atol=1e-9)
    npt.assert_allclose(km.ci_high[ok], ci[ok, 1], rtol=0, atol=1e-9)
    lif_median = float(kmf.median_survival_time_)
    assert (km.median_days if km.median_days is not None else np.inf) == lif_median


def test_kaplan_meier_helpers() -> None:
    km = kaplan_meier([1, 2, 2, 3, 4], [True, True, False, True, False])
    assert km.n == 5 and km.n_events == 3
    assert km.survival_at(0.5) == 1.0
    assert km.survival_at(2.5) == pytest.approx(0.6)
    assert km.cumulative_incidence_at(3) == pytest.approx(0.7)
    npt.assert_array_equal(km.n_at_risk_at([0, 1, 1.5, 3, 4, 10]), [5, 5, 4, 2, 1, 0])
    assert km.median_days == 3.0
    d: dict[str, Any] = km.as_dict()
    assert d["time_days"] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert d["ci_low"][0] is None  # S = 1: no band


def test_kaplan_meier_empty_and_invalid() -> None:
    km = kaplan_meier([], [])
    assert km.n == 0 and km.median_days is None
    with pytest.raises(DomainError):
        kaplan_meier([-1.0], [True])
    with pytest.raises(DomainError):
        kaplan_meier([1.0, 2.0], [True])


@pytest.mark.parametrize(
    "name", ["stats", "summary", "published", "cohort", "definitions", "patients"]
)
def test_doctests(name: str) -> None:
    module = importlib.import_module(f"ketacare.domain.analytics.{name}")
    assert doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE).failed == 0


def test_package_doctest() -> None:
    module = importlib.import_module("ketacare.domain.analytics")
    assert doctest.testmod(module).failed == 0


def test_kaplan_meier_presorted_path_matches() -> None:
    rng = np.random.default_rng(5)
    t = rng.integers(0, 30, 200).astype(float)
    e = rng.random(200) < 0.5
    order = np.argsort(t, kind="stable")
    a, b = kaplan_meier(t, e), kaplan_meier(t[order], e[order], presorted=True)
    npt.assert_array_equal(a.time_days, b.time_days)
    npt.assert_array_equal(a.survival, b.survival)
    npt.assert_array_equal(a.n_at_risk, b.n_at_risk)
    with pytest.raises(DomainError):
        kaplan_meier([2.0, 1.0], [True, True], presorted=True)
