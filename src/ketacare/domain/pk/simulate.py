"""Public simulation API: one patient (:func:`simulate`), a 90 % band (:func:`predict_band`).

Units: time in minutes, concentration in ng/mL, AUC in ng·min/mL, doses in mg of base.
Every output is decision support, not dosing guidance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ketacare.domain.errors import DomainError
from ketacare.domain.pk.engine import Solution, solve
from ketacare.domain.pk.iv_models import CLEMENTS_250, DOMINO, FANTA_2015, HIJAZI, SIMONS_2022
from ketacare.domain.pk.metrics import ExposureMetrics, exposure
from ketacare.domain.pk.models import PKModel
from ketacare.domain.pk.perez_ruixo import PEREZ_RUIXO_2021
from ketacare.domain.pk.regimen import Covariates, Dose

__all__ = ["MODELS", "PKBand", "PKSimulation", "get_model", "predict_band", "simulate"]

F64 = NDArray[np.float64]

#: All models by key.
MODELS: Mapping[str, PKModel] = {
    m.info.key: m for m in (DOMINO, CLEMENTS_250, HIJAZI, FANTA_2015, SIMONS_2022, PEREZ_RUIXO_2021)
}


def get_model(key: str) -> PKModel:
    """Look a model up by key; :class:`DomainError` names the known keys otherwise."""
    try:
        return MODELS[key]
    except KeyError:
        raise DomainError(f"unknown model {key!r} (known: {', '.join(MODELS)})") from None


def _times(times_min: ArrayLike) -> F64:
    t = np.atleast_1d(np.asarray(times_min, dtype=np.float64))
    if t.ndim != 1 or t.size == 0 or not np.all(np.isfinite(t)):
        raise DomainError("times must be a non-empty list of finite minutes")
    return t


@dataclass(frozen=True, slots=True)
class PKSimulation:
    """Predicted plasma concentration for one patient and regimen.

    Attributes
    ----------
    model : str
        Model key.
    times_min : NDArray[np.float64]
        Requested times, minutes from the reference time (usually the first dose).
    conc_ng_per_ml : NDArray[np.float64]
        Concentration at ``times_min``, ng/mL.
    window_min : tuple of float
        Window for Cmax, tmax, AUC and time above a threshold, minutes.
    solution : Solution
        The exact solution (one patient); evaluate it at any other time with :meth:`conc_at`.
    """

    model: str
    times_min: F64
    conc_ng_per_ml: F64
    window_min: tuple[float, float]
    solution: Solution

    def conc_at(self, times_min: ArrayLike) -> F64:
        """Concentration at any times, ng/mL."""
        out: F64 = self.solution.conc(_times(times_min))[0]
        return out

    def metrics(self, threshold_ng_per_ml: float = 100.0) -> ExposureMetrics:
        """Exposure metrics over :attr:`window_min` (exact; see :mod:`.metrics`)."""
        return exposure(self.solution, *self.window_min, threshold_ng_per_ml)

    @property
    def cmax(self) -> float:
        """Peak concentration in the window, ng/mL (exact, not just at ``times_min``)."""
        return float(self.metrics().cmax_ng_per_ml[0])

    @property
    def tmax(self) -> float:
        """Time of the peak, minutes."""
        return float(self.metrics().tmax_min[0])

    def auc(self, start_min: float | None = None, end_min: float | None = None) -> float:
        """AUC, ng·min/mL, over the window unless given (``end_min=inf`` for AUC(0–∞))."""
        a = self.window_min[0] if start_min is None else start_min
        b = self.window_min[1] if end_min is None else end_min
        return float(self.solution.auc(a, b)[0])

    @property
    def auc_inf(self) -> float:
        """AUC from the window start to infinity, ng·min/mL."""
        return self.auc(end_min=np.inf)

    def time_above(self, threshold_ng_per_ml: float) -> float:
        """Minutes at or above a threshold within the window."""
        return float(self.metrics(threshold_ng_per_ml).time_above_min[0])


def solve_patients(model: PKModel, doses: Sequence[Dose], cov: Covariates, eta: F64) -> Solution:
    """Exact solution for ``cov.n`` patients with random effects ``eta``."""
    if not doses:
        raise DomainError("at least one dose is needed")
    return solve(model.system(cov, eta), model.inputs(doses, cov, eta))


def simulate(
    model: PKModel | str,
    doses: Sequence[Dose],
    times_min: ArrayLike,
    *,
    weight_kg: float = 70.0,
    age_years: float = 45.0,
    until_min: float | None = None,
) -> PKSimulation:
    """Concentration of the typical patient with the given covariates (η = 0).

    Parameters
    ----------
    model : PKModel or str
        Model or its key (see :data:`MODELS`).
    doses : sequence of Dose
        The regimen.
    times_min : array_like
        Times to report, minutes.
    weight_kg, age_years : float
        Covariates.
    until_min : float, optional
        End of the metric window; default ``max(times_min)`` (window starts at the first dose).

    Examples
    --------
    Domino, 0.5 mg/kg over 40 min at 70 kg (reference/pk.md §1.3):

    >>> from ketacare.domain.pk.regimen import iv_infusion
    >>> sim = simulate("domino", [iv_infusion(mg_per_kg=0.5, minutes=40)], [40, 80])
    >>> [round(float(c), 1) for c in sim.conc_ng_per_ml]
    [240.3, 45.8]
    >>> round(sim.cmax, 1), round(sim.tmax, 1)
    (240.3, 40.0)
    """
    m = get_model(model) if isinstance(model, str) else model
    t = _times(times_min)
    cov = Covariates.of(weight_kg, age_years, n=1)
    sol = solve_patients(m, doses, cov, m.zero_eta(1))
    start = min(d.time_min for d in doses)
    end = float(t.max()) if until_min is None else float(until_min)
    if end <= start:
        raise DomainError("the metric window must end after the first dose")
    return PKSimulation(m.info.key, t, sol.conc(t)[0], (start, end), sol)


@dataclass(frozen=True, slots=True)
class PKBand:
    """Typical prediction and a between-patient band for one patient's covariates.

    Attributes
    ----------
    model : str
        Model key.
    times_min : NDArray[np.float64]
        Times, minutes.
    typical_ng_per_ml : NDArray[np.float64]
        Typical patient (η = 0), ng/mL.
    p05_ng_per_ml, p50_ng_per_ml, p95_ng_per_ml : NDArray[np.float64]
        5th, 50th and 95th percentiles over simulated between-patient variability, ng/mL
        (the 5th-95th percentile range is the 90 % prediction band).
    n_simulated : int
        Virtual patients behind the percentiles.
    iiv_source : str
        Source of the variability (says when it is borrowed from another model).
    """

    model: str
    times_min: F64
    typical_ng_per_ml: F64
    p05_ng_per_ml: F64
    p50_ng_per_ml: F64
    p95_ng_per_ml: F64
    n_simulated: int
    iiv_source: str


def predict_band(
    model: PKModel | str,
    doses: Sequence[Dose],
    times_min: ArrayLike,
    *,
    weight_kg: float = 70.0,
    age_years: float = 45.0,
    n: int = 1000,
    seed: int = 0,
) -> PKBand:
    """Predicted concentration with a 90 % between-patient band (for the web layer).

    Deterministic for a given ``seed``. Residual (assay) error is not included.

    Examples
    --------
    >>> from ketacare.domain.pk.regimen import nasal_spray
    >>> b = predict_band("perez-ruixo-2021", [nasal_spray(56)], [40.0], age_years=45.0)
    >>> bool(b.p05_ng_per_ml[0] < b.typical_ng_per_ml[0] < b.p95_ng_per_ml[0])
    True
    """
    m = get_model(model) if isinstance(model, str) else model
    if n < 20:
        raise DomainError("a band needs at least 20 virtual patients")
    t = _times(times_min)
    cov = Covariates.of(weight_kg, age_years, n=n + 1)
    eta = m.iiv.sample(n + 1, np.random.default_rng(seed))
    eta[0] = 0.0
    conc = solve_patients(m, doses, cov, eta).conc(t)
    p05, p50, p95 = np.percentile(conc[1:], [5.0, 50.0, 95.0], axis=0)
    return PKBand(m.info.key, t, conc[0], p05, p50, p95, n, m.iiv.source)
