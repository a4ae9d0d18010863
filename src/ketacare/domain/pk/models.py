"""Population PK model base classes and the registry of ketacare's models.

Each model turns covariates, between-patient random effects (η) and a list of doses into a
:class:`~ketacare.domain.pk.engine.LinearSystem` plus inputs. Random effects are log-normal
(parameter × e^η, η ~ N(0, Ω)) unless the model says otherwise.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ketacare.domain.errors import DomainError
from ketacare.domain.pk.engine import Input, LinearSystem
from ketacare.domain.pk.regimen import Covariates, Dose

__all__ = ["IIV", "MammillaryModel", "ModelInfo", "PKModel"]

F64 = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class IIV:
    """Between-patient variability: η ~ N(0, Ω) on named parameters.

    Attributes
    ----------
    names : tuple of str
        Parameters carrying an η, in the order of ``omega``.
    omega : tuple of tuple of float
        Covariance matrix Ω of the η (variances on the log scale, unless stated).
    source : str
        Where Ω comes from.
    borrowed : bool
        True when Ω is taken from another model because the source publishes none.
    """

    names: tuple[str, ...]
    omega: tuple[tuple[float, ...], ...]
    source: str
    borrowed: bool = False

    def sample(self, n: int, rng: np.random.Generator) -> F64:
        """Draw η for ``n`` patients, shape ``(n, len(names))``."""
        cov = np.asarray(self.omega, dtype=np.float64)
        chol = np.linalg.cholesky(cov)
        out: F64 = rng.standard_normal((n, len(self.names))) @ chol.T
        return out


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """Documentation of a model: citation, population, sampling site, parameters, limits."""

    key: str
    title: str
    citation: str
    doi: str
    analyte: str
    routes: tuple[str, ...]
    population: str
    sampling_site: str
    parameters: tuple[tuple[str, str, str], ...]
    covariates: str
    limits: str
    reliability: str


class PKModel(ABC):
    """A population PK model (abstract)."""

    info: ModelInfo
    iiv: IIV

    @abstractmethod
    def system(self, cov: Covariates, eta: F64) -> LinearSystem:
        """Rate matrices (min⁻¹) and output weights (ng/mL per mg) for ``cov.n`` patients."""

    @abstractmethod
    def inputs(self, doses: Sequence[Dose], cov: Covariates, eta: F64) -> list[Input]:
        """Translate doses into compartment inputs (mg, minutes)."""

    def zero_eta(self, n: int) -> F64:
        """η = 0 for ``n`` patients (the typical patient with these covariates)."""
        return np.zeros((n, len(self.iiv.names)))

    def eta_of(self, eta: F64, name: str) -> F64:
        """Column of ``eta`` for parameter ``name`` (zeros when it has no IIV)."""
        if name in self.iiv.names:
            col: F64 = eta[:, self.iiv.names.index(name)]
            return col
        return np.zeros(eta.shape[0])

    def check_routes(self, doses: Sequence[Dose]) -> None:
        """Refuse doses by a route the model does not describe."""
        for d in doses:
            if d.route not in self.info.routes:
                raise DomainError(
                    f"model {self.info.key} has no {d.route} route (routes: "
                    f"{', '.join(self.info.routes)})"
                )


@dataclass(frozen=True)
class MammillaryModel(PKModel):
    """IV mammillary model with 1-3 compartments; input and sampling in the central one.

    Typical values are for a 70 kg adult; volumes scale with (WT/70)^``volume_exponent``
    and clearances with (WT/70)^``clearance_exponent``.

    Attributes
    ----------
    v1_l : float
        Central volume at 70 kg, L.
    cl_l_per_min : float
        Elimination clearance at 70 kg, L/min.
    q_l_per_min : tuple of float
        Inter-compartmental clearances at 70 kg, L/min (one per peripheral compartment).
    vp_l : tuple of float
        Peripheral volumes at 70 kg, L.
    """

    info: ModelInfo
    iiv: IIV
    v1_l: float
    cl_l_per_min: float
    q_l_per_min: tuple[float, ...] = ()
    vp_l: tuple[float, ...] = ()
    volume_exponent: float = 1.0
    clearance_exponent: float = 1.0

    def parameters(self, cov: Covariates, eta: F64) -> dict[str, F64]:
        """Individual V (L) and CL/Q (L/min), arrays of shape ``(N,)``."""
        rel = cov.weight_kg / 70.0
        fv, fc = rel**self.volume_exponent, rel**self.clearance_exponent
        p = {"V1": self.v1_l * fv, "CL": self.cl_l_per_min * fc}
        for i, (q, v) in enumerate(zip(self.q_l_per_min, self.vp_l, strict=True)):
            p[f"Q{i + 2}"], p[f"V{i + 2}"] = q * fc, v * fv
        return {k: v * np.exp(self.eta_of(eta, k)) for k, v in p.items()}

    def system(self, cov: Covariates, eta: F64) -> LinearSystem:
        """Rate matrices (min⁻¹) and output weights (ng/mL per mg)."""
        p = self.parameters(cov, eta)
        n_p, n = cov.n, 1 + len(self.vp_l)
        k = np.zeros((n_p, n, n))
        k[:, 0, 0] = -p["CL"] / p["V1"]
        for i in range(1, n):
            q, vp = p[f"Q{i + 1}"], p[f"V{i + 1}"]
            k[:, 0, 0] -= q / p["V1"]
            k[:, i, 0] = q / p["V1"]
            k[:, 0, i] = q / vp
            k[:, i, i] = -q / vp
        out = np.zeros((n_p, n))
        out[:, 0] = 1000.0 / p["V1"]
        return LinearSystem(k, out)

    def inputs(
        self,
        doses: Sequence[Dose],
        cov: Covariates,
        eta: F64,  # noqa: ARG002 (IV doses carry no random effect)
    ) -> list[Input]:
        """IV boluses and infusions into the central compartment."""
        self.check_routes(doses)
        return [Input(d.time_min, d.amount_for(cov.weight_kg), 0, d.duration_min) for d in doses]


def rate_constant_model(
    cls: type[MammillaryModel],
    info: ModelInfo,
    iiv: IIV,
    *,
    v1_l_per_kg: float,
    k10: float,
    k12: float,
    k21: float,
    k13: float | None = None,
    k31: float | None = None,
) -> MammillaryModel:
    """Mammillary model from a V1 per kg and rate constants (min⁻¹), all linear in weight."""
    v1 = v1_l_per_kg * 70.0
    q = [k12 * v1]
    vp = [k12 * v1 / k21]
    if k13 is not None and k31 is not None:
        q.append(k13 * v1)
        vp.append(k13 * v1 / k31)
    return cls(info, iiv, v1, k10 * v1, tuple(q), tuple(vp), 1.0, 1.0)
