"""Virtual cohorts: per-patient exposure and percentiles over time, in chunks.

Virtual patients share the given covariates and differ by log-normal between-patient
variability drawn from the model's Ω (borrowed for models that publish none). Units: minutes,
ng/mL, ng·min/mL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ketacare.domain.errors import DomainError
from ketacare.domain.pk.metrics import ExposureMetrics, exposure
from ketacare.domain.pk.models import PKModel
from ketacare.domain.pk.regimen import Covariates, Dose
from ketacare.domain.pk.simulate import get_model, solve_patients

__all__ = ["CohortResult", "cohort_percentiles", "simulate_cohort"]

F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class CohortResult:
    """Exposure of ``N`` virtual patients.

    Attributes
    ----------
    model : str
        Model key.
    covariates : Covariates
        Covariates of each patient.
    eta : NDArray[np.float64]
        Random effects, shape ``(N, len(model.iiv.names))``.
    metrics : ExposureMetrics
        Cmax (ng/mL), tmax (min), AUC (ng·min/mL) and time above the threshold (min).
    """

    model: str
    covariates: Covariates
    eta: F64
    metrics: ExposureMetrics


def _model(model: PKModel | str) -> PKModel:
    return get_model(model) if isinstance(model, str) else model


def simulate_cohort(
    model: PKModel | str,
    doses: Sequence[Dose],
    n: int,
    *,
    end_min: float,
    weight_kg: float = 70.0,
    age_years: float = 45.0,
    threshold_ng_per_ml: float = 100.0,
    seed: int = 0,
    chunk: int = 25_000,
    on_progress: Callable[[int], None] | None = None,
) -> CohortResult:
    """Exposure metrics for ``n`` virtual patients over ``[first dose, end_min]``.

    ``on_progress`` is called with the number of patients finished after each chunk.

    Examples
    --------
    >>> from ketacare.domain.pk.regimen import iv_infusion
    >>> res = simulate_cohort("domino", [iv_infusion(mg_per_kg=0.5, minutes=40)], 200,
    ...                       end_min=1440.0, seed=1)
    >>> res.metrics.cmax_ng_per_ml.shape
    (200,)
    """
    m = _model(model)
    if n < 1:
        raise DomainError("a cohort needs at least one patient")
    start = min((d.time_min for d in doses), default=0.0)
    cov = Covariates.of(weight_kg, age_years, n=n)
    eta = m.iiv.sample(n, np.random.default_rng(seed))
    parts: list[ExposureMetrics] = []
    for lo in range(0, n, chunk):
        rows = slice(lo, min(n, lo + chunk))
        sol = solve_patients(m, doses, cov.take(rows), eta[rows])
        parts.append(exposure(sol, start, end_min, threshold_ng_per_ml))
        if on_progress is not None:
            on_progress(rows.stop - lo)

    def cat(name: str) -> F64:
        out: F64 = np.concatenate([getattr(p, name) for p in parts])
        return out

    metrics = ExposureMetrics(
        cat("cmax_ng_per_ml"),
        cat("tmax_min"),
        cat("auc_ng_min_per_ml"),
        cat("auc_inf_ng_min_per_ml"),
        cat("time_above_min"),
        float(threshold_ng_per_ml),
        (float(start), float(end_min)),
    )
    return CohortResult(m.info.key, cov, eta, metrics)


def cohort_percentiles(
    model: PKModel | str,
    doses: Sequence[Dose],
    times_min: ArrayLike,
    n: int,
    *,
    weight_kg: float = 70.0,
    age_years: float = 45.0,
    percentiles: Sequence[float] = (5.0, 50.0, 95.0),
    seed: int = 0,
) -> F64:
    """Percentiles of concentration over time across ``n`` virtual patients, ng/mL.

    Returns an array of shape ``(len(percentiles), len(times_min))``.
    """
    m = _model(model)
    t = np.atleast_1d(np.asarray(times_min, dtype=np.float64))
    cov = Covariates.of(weight_kg, age_years, n=n)
    eta = m.iiv.sample(n, np.random.default_rng(seed))
    conc = solve_patients(m, doses, cov, eta).conc(t)
    out: F64 = np.percentile(conc, list(percentiles), axis=0)
    return out
