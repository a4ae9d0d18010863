"""Doses and patient covariates: the inputs of a simulation (units in every name)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ketacare.domain.errors import DomainError

__all__ = [
    "NASAL_DEVICE_MG",
    "Covariates",
    "Dose",
    "Route",
    "iv_bolus",
    "iv_infusion",
    "nasal_spray",
]

F64 = NDArray[np.float64]
Route = Literal["iv", "nasal"]

#: Esketamine base delivered by one Spravato nasal device, mg (32.3 mg as HCl).
NASAL_DEVICE_MG = 28.0


@dataclass(frozen=True, slots=True)
class Dose:
    """One administration.

    Attributes
    ----------
    time_min : float
        Start time, minutes from the reference time (usually the first dose).
    amount_mg : float
        Fixed amount, mg of base (ketamine or esketamine, not the HCl salt).
    mg_per_kg : float
        Weight-based amount, mg of base per kg of body weight; added to ``amount_mg``.
    duration_min : float
        IV: 0 for a bolus, otherwise the length of a constant-rate infusion, minutes.
        Ignored for nasal doses.
    route : {"iv", "nasal"}
        Route of administration.
    device_interval_min : float
        Nasal only: minutes between successive 28 mg devices (Spravato: 5). 0 gives all
        devices at once, as in the Perez-Ruixo 2021 Table 4 simulations.
    """

    time_min: float
    amount_mg: float = 0.0
    mg_per_kg: float = 0.0
    duration_min: float = 0.0
    route: Route = "iv"
    device_interval_min: float = 0.0

    def __post_init__(self) -> None:
        values = (self.time_min, self.amount_mg, self.mg_per_kg, self.duration_min)
        if not all(np.isfinite(v) for v in values):
            raise DomainError("dose fields must be finite numbers")
        if self.amount_mg < 0 or self.mg_per_kg < 0 or self.amount_mg + self.mg_per_kg <= 0:
            raise DomainError("a dose needs a positive amount (mg or mg/kg)")
        if self.duration_min < 0 or self.device_interval_min < 0:
            raise DomainError("durations and device intervals must not be negative")
        if self.route not in ("iv", "nasal"):
            raise DomainError(f"unknown route {self.route!r}")
        if self.route == "nasal":
            devices = self.amount_mg / NASAL_DEVICE_MG
            if self.mg_per_kg or devices < 1 or abs(devices - round(devices)) > 1e-9:
                raise DomainError(
                    "nasal doses are whole 28 mg devices (28, 56, 84 mg), "
                    f"got {self.amount_mg:g} mg"
                )

    def amount_for(self, weight_kg: F64) -> F64:
        """Amount per patient, mg, for body weights in kg (shape ``(N,)``)."""
        return np.asarray(self.amount_mg + self.mg_per_kg * weight_kg, dtype=np.float64)

    def shifted(self, minutes: float) -> Dose:
        """The same dose given ``minutes`` later."""
        return Dose(
            self.time_min + minutes,
            self.amount_mg,
            self.mg_per_kg,
            self.duration_min,
            self.route,
            self.device_interval_min,
        )


def iv_infusion(
    *,
    minutes: float,
    mg: float = 0.0,
    mg_per_kg: float = 0.0,
    at_min: float = 0.0,
) -> Dose:
    """Constant-rate IV infusion of ``mg`` (+ ``mg_per_kg`` × weight) over ``minutes``.

    Examples
    --------
    >>> iv_infusion(mg_per_kg=0.5, minutes=40).duration_min
    40.0
    """
    if minutes <= 0:
        raise DomainError("an infusion lasts more than 0 minutes; use iv_bolus")
    return Dose(float(at_min), float(mg), float(mg_per_kg), float(minutes), "iv")


def iv_bolus(*, mg: float = 0.0, mg_per_kg: float = 0.0, at_min: float = 0.0) -> Dose:
    """Instantaneous IV bolus."""
    return Dose(float(at_min), float(mg), float(mg_per_kg), 0.0, "iv")


def nasal_spray(mg: float, *, at_min: float = 0.0, device_interval_min: float = 0.0) -> Dose:
    """Esketamine nasal spray of ``mg`` (a whole number of 28 mg devices)."""
    return Dose(float(at_min), float(mg), 0.0, 0.0, "nasal", float(device_interval_min))


def _as_array(x: ArrayLike, n: int | None) -> F64:
    a = np.atleast_1d(np.asarray(x, dtype=np.float64))
    if a.ndim != 1:
        raise DomainError("covariates must be scalars or 1-D arrays")
    return a if n is None else np.broadcast_to(a, (n,)).copy()


@dataclass(frozen=True, slots=True)
class Covariates:
    """Covariates of ``N`` patients (arrays of equal length).

    Attributes
    ----------
    weight_kg : NDArray[np.float64]
        Total body weight, kg.
    age_years : NDArray[np.float64]
        Age, years.
    """

    weight_kg: F64
    age_years: F64

    @classmethod
    def of(cls, weight_kg: ArrayLike = 70.0, age_years: ArrayLike = 45.0, n: int = 0) -> Covariates:
        """Broadcast scalars or arrays to ``n`` patients (``n = 0``: from the arrays).

        Examples
        --------
        >>> Covariates.of(70.0, 45.0, n=3).weight_kg
        array([70., 70., 70.])
        """
        w = _as_array(weight_kg, None)
        a = _as_array(age_years, None)
        size = n or max(w.size, a.size)
        try:
            w, a = _as_array(w, size), _as_array(a, size)
        except ValueError as exc:
            raise DomainError("covariate arrays have different lengths") from exc
        if not (np.all(np.isfinite(w)) and np.all(w > 0)):
            raise DomainError("weight_kg must be positive")
        if not (np.all(np.isfinite(a)) and np.all(a >= 0)):
            raise DomainError("age_years must not be negative")
        return cls(w, a)

    @property
    def n(self) -> int:
        """Number of patients."""
        return int(self.weight_kg.size)

    def take(self, rows: slice | Sequence[int] | NDArray[np.intp]) -> Covariates:
        """The covariates of a subset of patients."""
        return Covariates(self.weight_kg[rows], self.age_years[rows])
