"""Exposure metrics, band, cohort and protocols against brute-force evaluation."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
import pytest

import ketacare.domain.pk as pk
from ketacare.domain.errors import DomainError
from ketacare.domain.pk import (
    cohort_percentiles,
    get_protocol,
    iv_infusion,
    nasal_spray,
    predict_band,
    simulate,
    simulate_cohort,
)


def test_public_api_is_sorted_and_complete() -> None:
    public = sorted((n for n in vars(pk) if (not n.startswith("_") and n[0].isupper()) or
                     n in pk.__all__), key=str)  # fmt: skip
    assert set(pk.__all__) <= set(public)


@pytest.mark.parametrize(
    ("key", "doses"),
    [
        ("domino", get_protocol("iv-ketamine-induction").doses[:2]),
        ("perez-ruixo-2021", (nasal_spray(56.0, device_interval_min=5.0),)),
    ],
)
def test_metrics_match_dense_evaluation(key: str, doses: tuple[pk.Dose, ...]) -> None:
    end = doses[-1].time_min + 1440.0
    sim = simulate(key, doses, [0.0], until_min=end)
    events = [x for d in doses for x in (d.time_min, d.time_min + d.duration_min)]
    t = np.unique(np.concatenate([np.linspace(0.0, end, 2_000_001), events]))  # kinks included
    c = sim.conc_at(t)
    dt = float(np.diff(t).max())
    # Cmax exact (≥ every dense sample, within 1e-6 relative); tmax within one dense step.
    assert sim.cmax >= c.max() - 1e-9
    assert sim.cmax == pytest.approx(c.max(), rel=1e-6)
    assert sim.tmax == pytest.approx(t[c.argmax()], abs=2 * dt)
    # AUC exact vs trapezoid on 2e6 intervals: 1e-6 relative.
    assert sim.auc() == pytest.approx(np.trapezoid(c, t), rel=1e-6)
    # Time above 40 ng/mL within two dense steps per crossing.
    above = np.trapezoid((c >= 40.0).astype(float), t)
    assert sim.time_above(40.0) == pytest.approx(above, abs=8 * dt)


def test_auc_to_infinity_is_dose_over_clearance() -> None:
    # Domino at 70 kg: CL = k10 × V1 = 0.4381 × 4.41 L/min; 35 mg -> 35/CL mg·min/L.
    sim = simulate("domino", [iv_infusion(mg=35.0, minutes=40.0)], [0.0, 60.0])
    assert sim.auc_inf == pytest.approx(35.0 / (0.4381 * 0.063 * 70) * 1000.0, rel=1e-9)
    assert sim.auc(0.0, 60.0) < sim.auc_inf
    with pytest.raises(DomainError):
        sim.auc(60.0, 0.0)


def test_band_brackets_typical_and_is_reproducible() -> None:
    doses = [iv_infusion(mg_per_kg=0.5, minutes=40.0)]
    times = [10.0, 40.0, 80.0, 240.0]
    band = predict_band("domino", doses, times, weight_kg=80.0, n=400, seed=3)
    again = predict_band("domino", doses, times, weight_kg=80.0, n=400, seed=3)
    npt.assert_array_equal(band.p95_ng_per_ml, again.p95_ng_per_ml)
    assert np.all(band.p05_ng_per_ml < band.p50_ng_per_ml)
    assert np.all(band.p50_ng_per_ml < band.p95_ng_per_ml)
    assert "borrowed" in band.iiv_source
    with pytest.raises(DomainError):
        predict_band("domino", doses, times, n=5)


def test_cohort_metrics_and_percentiles() -> None:
    proto = get_protocol("esketamine-trd")
    res = simulate_cohort("perez-ruixo-2021", proto.doses, 300, end_min=proto.end_min, seed=2)
    m = res.metrics
    assert m.cmax_ng_per_ml.shape == (300,)
    assert np.all(m.auc_ng_min_per_ml <= m.auc_inf_ng_min_per_ml + 1e-6)
    assert np.all((m.time_above_min >= 0) & (m.time_above_min <= proto.end_min))
    q = cohort_percentiles("perez-ruixo-2021", proto.doses[:1], [20.0, 40.0, 240.0], 500)
    assert q.shape == (3, 3)
    assert np.all(q[0] <= q[1])
    assert np.all(q[1] <= q[2])
    with pytest.raises(DomainError):
        simulate_cohort("domino", proto.doses, 10, end_min=proto.end_min)  # nasal on IV model


def test_bad_inputs_raise_domain_errors() -> None:
    with pytest.raises(DomainError, match="unknown model"):
        simulate("nope", [iv_infusion(mg=1.0, minutes=1.0)], [1.0])
    with pytest.raises(DomainError, match="28 mg"):
        nasal_spray(50.0)
    with pytest.raises(DomainError, match="unknown protocol"):
        get_protocol("nope")
    with pytest.raises(DomainError):
        simulate("domino", [], [1.0])
    with pytest.raises(DomainError):
        pk.Covariates.of(weight_kg=-1.0)
