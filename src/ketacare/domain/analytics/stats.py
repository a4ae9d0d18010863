"""Proportions with Wilson intervals, summaries of change, and the Kaplan–Meier estimator.

Sources
-------
* Wilson score interval: Wilson EB. Probable inference, the law of succession, and
  statistical inference. J Am Stat Assoc 1927;22:209-212. Recommended over the Wald interval
  for small samples and rates near 0 or 1 (Brown, Cai & DasGupta, Stat Sci 2001;16:101-133).
* Kaplan–Meier product-limit estimator: Kaplan EL, Meier P. J Am Stat Assoc 1958;53:457-481.
  Variance by Greenwood's formula (Greenwood 1926); pointwise confidence band on the
  log(-log) scale ("exponential Greenwood", Kalbfleisch & Prentice 2002), as in lifelines.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import NormalDist

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ketacare.domain.errors import DomainError

__all__ = [
    "ChangeSummary",
    "KaplanMeier",
    "Proportion",
    "kaplan_meier",
    "proportion",
    "summarise_change",
    "wilson_interval",
]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def _z(confidence: float) -> float:
    if not 0 < confidence < 1:
        raise DomainError(f"confidence must be in (0, 1), got {confidence}")
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion ``k / n``.

    Parameters
    ----------
    k : int
        Number of successes (patients meeting the outcome), ``0 <= k <= n``.
    n : int
        Number of trials (patients in the denominator), ``n > 0``.
    confidence : float, default 0.95
        Two-sided coverage.

    Returns
    -------
    tuple of float
        Lower and upper bound, as proportions in [0, 1].

    Examples
    --------
    >>> lo, hi = wilson_interval(12, 20)
    >>> round(lo, 4), round(hi, 4)
    (0.3866, 0.7812)
    >>> wilson_interval(0, 10)[0]
    0.0
    """
    if n <= 0 or not 0 <= k <= n:
        raise DomainError(f"Wilson interval needs 0 <= k <= n and n > 0 (k={k}, n={n})")
    z = _z(confidence)
    p = k / n
    z2n = z * z / n
    centre = (p + z2n / 2) / (1 + z2n)
    half = z / (1 + z2n) * math.sqrt(p * (1 - p) / n + z2n / (4 * n))
    # Exact at the edges: the interval always contains 0 when k = 0 and 1 when k = n.
    lo = 0.0 if k == 0 else max(0.0, centre - half)
    hi = 1.0 if k == n else min(1.0, centre + half)
    return lo, hi


@dataclass(frozen=True, slots=True)
class Proportion:
    """A rate with its Wilson interval.

    Attributes
    ----------
    k : int
        Patients meeting the outcome.
    n : int
        Patients in the denominator (0 when nobody qualified).
    confidence : float
        Two-sided coverage of the interval (0.95 by default).
    """

    k: int
    n: int
    confidence: float = 0.95

    @property
    def rate(self) -> float | None:
        """``k / n``, or ``None`` when ``n`` is 0."""
        return self.k / self.n if self.n else None

    @property
    def ci(self) -> tuple[float, float] | None:
        """Wilson interval, or ``None`` when ``n`` is 0."""
        return wilson_interval(self.k, self.n, self.confidence) if self.n else None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form: ``k``, ``n``, ``rate``, ``ci`` (``[low, high]``) and ``method``."""
        ci = self.ci
        return {
            "k": self.k,
            "n": self.n,
            "rate": self.rate,
            "ci": None if ci is None else [ci[0], ci[1]],
            "ci_method": f"Wilson score {round(self.confidence * 100)}%",
        }


def proportion(mask: NDArray[np.bool_], among: NDArray[np.bool_]) -> Proportion:
    """Count ``mask & among`` over ``among`` as a :class:`Proportion`."""
    return Proportion(int(np.count_nonzero(mask & among)), int(np.count_nonzero(among)))


@dataclass(frozen=True, slots=True)
class ChangeSummary:
    """Mean change from baseline (current − baseline; negative is improvement).

    Attributes
    ----------
    n : int
        Patients contributing.
    mean : float or None
        Mean change, instrument points (``None`` when ``n`` is 0).
    sd : float or None
        Sample standard deviation (``ddof=1``), points (``None`` when ``n < 2``).
    mean_baseline : float or None
        Mean baseline total of the same patients, points.
    """

    n: int
    mean: float | None
    sd: float | None
    mean_baseline: float | None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {"n": self.n, "mean": self.mean, "sd": self.sd, "mean_baseline": self.mean_baseline}


def summarise_change(change: F64, baseline: F64) -> ChangeSummary:
    """Mean and SD of ``change`` (points) with the mean of ``baseline``."""
    n = int(change.size)
    if n == 0:
        return ChangeSummary(0, None, None, None)
    sd = float(np.std(change, ddof=1)) if n > 1 else None
    return ChangeSummary(n, float(np.mean(change)), sd, float(np.mean(baseline)))


@dataclass(frozen=True, slots=True)
class KaplanMeier:
    """Kaplan–Meier estimate of the probability of remaining event-free.

    One row per distinct time at which someone had the event or was censored, preceded by a
    row at time 0 (as lifelines' ``event_table``).

    Attributes
    ----------
    time_days : NDArray[np.float64]
        Distinct times, days since the origin (first session, or first response for relapse).
    n_at_risk : NDArray[np.int64]
        Patients still under observation just before each time.
    events : NDArray[np.int64]
        Events at each time.
    censored : NDArray[np.int64]
        Patients censored at each time (their last assessment, with no event).
    survival : NDArray[np.float64]
        ``S(t)``: probability of no event up to and including each time.
    ci_low, ci_high : NDArray[np.float64]
        Pointwise confidence band, Greenwood variance on the log(-log) scale (NaN where
        ``S(t)`` is 0 or 1).
    confidence : float
        Coverage of the band.
    """

    time_days: F64
    n_at_risk: I64
    events: I64
    censored: I64
    survival: F64
    ci_low: F64
    ci_high: F64
    confidence: float = 0.95

    @property
    def n(self) -> int:
        """Patients in the analysis."""
        return int(self.n_at_risk[0]) if self.n_at_risk.size else 0

    @property
    def n_events(self) -> int:
        """Total events."""
        return int(self.events.sum())

    def survival_at(self, day: float) -> float:
        """``S(day)``: the step function evaluated at ``day`` (right-continuous)."""
        i = int(np.searchsorted(self.time_days, day, side="right")) - 1
        return float(self.survival[i]) if i >= 0 else 1.0

    def cumulative_incidence_at(self, day: float) -> float:
        """``1 - S(day)``: Kaplan–Meier probability of the event by ``day``."""
        return 1.0 - self.survival_at(day)

    def n_at_risk_at(self, days: ArrayLike) -> I64:
        """Patients at risk just before each of ``days`` (for a table under a KM plot)."""
        d = np.asarray(days, dtype=np.float64)
        # at risk at t = patients whose time >= t = at risk at the first table time >= t
        i = np.searchsorted(self.time_days, d, side="left")
        last = self.n_at_risk - self.events - self.censored
        out: I64 = np.where(
            i < self.time_days.size,
            self.n_at_risk[np.minimum(i, self.time_days.size - 1)],
            last[-1] if last.size else 0,
        ).astype(np.int64)
        return out

    @property
    def median_days(self) -> float | None:
        """Smallest time with ``S(t) <= 0.5``; ``None`` if not reached."""
        hit = np.flatnonzero(self.survival <= 0.5)
        return float(self.time_days[hit[0]]) if hit.size else None

    def as_dict(self) -> dict[str, object]:
        """JSON-ready table: ``time_days``, ``n_at_risk``, ``events``, ``censored``,
        ``survival``, ``ci_low``, ``ci_high`` (NaN as ``None``) and ``median_days``."""

        def clean(a: F64) -> list[float | None]:
            return [None if math.isnan(x) else x for x in a.tolist()]

        return {
            "n": self.n,
            "n_events": self.n_events,
            "median_days": self.median_days,
            "time_days": self.time_days.tolist(),
            "n_at_risk": self.n_at_risk.tolist(),
            "events": self.events.tolist(),
            "censored": self.censored.tolist(),
            "survival": self.survival.tolist(),
            "ci_low": clean(self.ci_low),
            "ci_high": clean(self.ci_high),
        }


def kaplan_meier(
    durations: ArrayLike, observed: ArrayLike, confidence: float = 0.95, *, presorted: bool = False
) -> KaplanMeier:
    """Kaplan–Meier product-limit estimate with Greenwood log(-log) confidence band.

    Parameters
    ----------
    durations : array_like of float
        Time from the origin to the event or to censoring, days, ``>= 0``.
    observed : array_like of bool
        True where the event happened at ``durations``; False where the patient was censored
        (last observation without the event).
    confidence : float, default 0.95
        Coverage of the pointwise band.
    presorted : bool, default False
        ``durations`` are already in ascending order (skips the sort; for many subgroups of
        one large cohort).

    Returns
    -------
    KaplanMeier
        Event table and survival curve. Events are counted before censorings at tied times.

    Examples
    --------
    >>> km = kaplan_meier([1, 2, 2, 3, 4], [True, True, False, True, False])
    >>> km.time_days.tolist(), km.n_at_risk.tolist()
    ([0.0, 1.0, 2.0, 3.0, 4.0], [5, 5, 4, 2, 1])
    >>> [round(s, 4) for s in km.survival.tolist()]
    [1.0, 0.8, 0.6, 0.3, 0.3]
    """
    t = np.asarray(durations, dtype=np.float64).ravel()
    e = np.asarray(observed, dtype=bool).ravel()
    if t.shape != e.shape:
        raise DomainError("durations and observed must have the same length")
    if t.size and (not np.all(np.isfinite(t)) or t.min() < 0):
        raise DomainError("durations must be finite and >= 0")
    z = _z(confidence)
    if presorted:
        if t.size > 1 and bool(np.any(t[1:] < t[:-1])):
            raise DomainError("presorted durations are not in ascending order")
        allt = np.concatenate([[0.0], t])
        new = np.concatenate([[True], allt[1:] != allt[:-1]])
        times, inv = allt[new], (np.cumsum(new) - 1)[1:]
    else:
        times, inv = np.unique(np.concatenate([[0.0], t]), return_inverse=True)
        inv = inv[1:]
    removed = np.bincount(inv, minlength=times.size).astype(np.int64)
    events = np.bincount(inv, weights=e, minlength=times.size).astype(np.int64)
    censored = removed - events
    at_risk = (t.size - np.concatenate([[0], np.cumsum(removed)[:-1]])).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        hazard = np.where(at_risk > 0, events / np.maximum(at_risk, 1), 0.0)
        survival = np.cumprod(1.0 - hazard)
        denom = at_risk * (at_risk - events)
        terms = np.where(denom > 0, events / np.where(denom > 0, denom, 1), 0.0)
        greenwood = np.cumsum(terms)
        log_s = np.log(survival)
        inner = np.log(-log_s)
        spread = z * np.sqrt(greenwood) / log_s
        ci_high = np.exp(-np.exp(inner + spread))
        ci_low = np.exp(-np.exp(inner - spread))
    undefined = (survival <= 0) | (survival >= 1)
    return KaplanMeier(
        time_days=times.astype(np.float64),
        n_at_risk=at_risk,
        events=events,
        censored=censored,
        survival=survival.astype(np.float64),
        ci_low=np.where(undefined, np.nan, ci_low),
        ci_high=np.where(undefined, np.nan, ci_high),
        confidence=confidence,
    )
