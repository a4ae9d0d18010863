"""Hypothesis properties: linear in dose, superposition, non-negative, zero before dosing."""

from __future__ import annotations

import numpy as np
import numpy.testing as npt
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.domain.pk import MODELS, Covariates, Dose, solve

KEYS = st.sampled_from(list(MODELS))
TIMES = np.array([-10.0, 0.0, 1.0, 15.0, 45.0, 90.0, 240.0, 720.0, 1440.0, 3000.0])
SETTINGS = settings(max_examples=40, deadline=None)


@st.composite
def doses(draw: st.DrawFn, route: str) -> list[Dose]:
    count = draw(st.integers(1, 4))
    out = []
    for _ in range(count):
        t = draw(st.floats(0.0, 2000.0))
        if route == "nasal":
            out.append(Dose(t, 28.0 * draw(st.integers(1, 3)), route="nasal",
                            device_interval_min=draw(st.sampled_from([0.0, 5.0]))))  # fmt: skip
        else:
            dur = draw(st.sampled_from([0.0, 1.0, 40.0, 120.0]))
            out.append(Dose(t, draw(st.floats(0.1, 200.0)), duration_min=dur))
    return out


def _conc(key: str, regimen: list[Dose], eta_seed: int, times: np.ndarray) -> np.ndarray:
    model = MODELS[key]
    cov = Covariates.of(70.0, 45.0, n=2)
    eta = model.iiv.sample(2, np.random.default_rng(eta_seed))
    out: np.ndarray = solve(model.system(cov, eta), model.inputs(regimen, cov, eta)).conc(times)
    return out


def _route(key: str) -> str:
    return "nasal" if "nasal" in MODELS[key].info.routes else "iv"


@SETTINGS
@given(data=st.data(), key=KEYS, seed=st.integers(0, 1000), factor=st.floats(0.1, 10.0))
def test_linear_in_dose(data: st.DataObject, key: str, seed: int, factor: float) -> None:
    regimen = data.draw(doses("iv"))  # nasal doses come in whole devices: test IV scaling
    if _route(key) == "nasal":
        regimen = [Dose(d.time_min, d.amount_mg, duration_min=d.duration_min) for d in regimen]
    scaled = [Dose(d.time_min, d.amount_mg * factor, duration_min=d.duration_min) for d in regimen]
    base = _conc(key, regimen, seed, TIMES)
    # Tolerance: 1e-9 relative plus 1e-9 ng/mL (rounding only).
    npt.assert_allclose(_conc(key, scaled, seed, TIMES), factor * base, rtol=1e-9, atol=1e-9)


@SETTINGS
@given(data=st.data(), key=KEYS, seed=st.integers(0, 1000))
def test_superposition(data: st.DataObject, key: str, seed: int) -> None:
    regimen = data.draw(doses(_route(key)))
    together = _conc(key, regimen, seed, TIMES)
    apart = sum(_conc(key, [d], seed, TIMES) for d in regimen)
    npt.assert_allclose(together, apart, rtol=1e-9, atol=1e-9)  # rounding only


@SETTINGS
@given(data=st.data(), key=KEYS, seed=st.integers(0, 1000))
def test_non_negative_and_zero_before_first_dose(data: st.DataObject, key: str, seed: int) -> None:
    regimen = data.draw(doses(_route(key)))
    first = min(d.time_min for d in regimen)
    times = np.concatenate([first - np.array([1000.0, 1.0, 1e-6]), TIMES + first])
    conc = _conc(key, regimen, seed, times)
    assert np.all(conc >= 0.0)
    assert np.all(conc[:, :3] == 0.0)  # exactly zero before the first dose
