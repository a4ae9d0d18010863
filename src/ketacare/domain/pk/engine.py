"""Exact solution of linear compartment models, superposed over doses and vectorised.

A model is a linear system of drug amounts ``x`` (mg) in ``n`` compartments,

    dx/dt = K x + b(t),      C(t) = out · x(t)   (ng/mL),

with ``K`` the rate matrix in min⁻¹ and ``out`` the output weights in ng/mL per mg (1000/V
for the sampled compartment, V in L). ``b(t)`` is a sum of boluses (impulses) and zero-order
infusions (constant rates) into any compartment, including absorption depots, so IV bolus,
zero-order infusion and first-order absorption (a bolus into a depot that drains at rate ka)
are all covered.

Method (Abuhelwa et al. 2015, in modal form): ``K`` is diagonalised once per patient,
``K = V diag(-λ) V⁻¹``, with ``np.linalg.eig`` on the stacked ``(N, n, n)`` matrices. In modal
coordinates ``z = V⁻¹ x`` every mode evolves on its own, and between two consecutive dose
events (starts and ends of inputs) the input rates are constant, so

    z(t0 + τ) = z(t0) e^(−λτ) + r (1 − e^(−λτ)) / λ

is exact. The state is carried from event to event (the ADVAN recursion), which costs
O(N · T · n) whatever the number of doses; no step-wise integration is used.

References
----------
Abuhelwa AY, Foster DJR, Upton RN. ADVAN-style analytical solutions for common
pharmacokinetic models. J Pharmacol Toxicol Methods 2015;73:42-48.
doi:10.1016/j.vascn.2015.03.004
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ketacare.domain.errors import DomainError

__all__ = ["Input", "LinearSystem", "SegmentCurves", "Solution", "solve"]

F64 = NDArray[np.float64]

#: Eigenvalues closer than this (relative) are split by a diagonal nudge of the same relative
#: size; the concentrations then change by about this much (relative), far below any model error.
_DEGENERACY_GAP = 1e-7


@dataclass(frozen=True, slots=True)
class LinearSystem:
    """Per-patient linear compartment system.

    Attributes
    ----------
    rates_per_min : NDArray[np.float64]
        Rate matrix ``K``, shape ``(N, n, n)``, min⁻¹; ``K[:, i, j]`` is the transfer rate
        constant from compartment ``j`` to ``i``, the diagonal holds minus the total outflow.
    out_ng_per_ml_per_mg : NDArray[np.float64]
        Output weights, shape ``(N, n)``: concentration in ng/mL per mg in each compartment
        (``1000 / V`` for the sampled compartment with ``V`` in L, 0 elsewhere).
    """

    rates_per_min: F64
    out_ng_per_ml_per_mg: F64


@dataclass(frozen=True, slots=True)
class Input:
    """One drug input into one compartment, identical timing for all patients.

    Attributes
    ----------
    start_min : float
        Start time, minutes.
    amount_mg : NDArray[np.float64]
        Amount delivered into the compartment, mg, shape ``(N,)`` (one per patient).
    compartment : int
        Index of the receiving compartment.
    duration_min : float
        0 for an instantaneous bolus, otherwise the length of a constant-rate (zero-order)
        input, minutes.
    """

    start_min: float
    amount_mg: F64
    compartment: int
    duration_min: float = 0.0


def _exp_pair(x: F64) -> tuple[F64, F64]:
    """``e^(−x)`` and ``1 − e^(−x)``, the latter without cancellation for small ``x``.

    A 4-term series below 1e-3 (error < 1e-17 relative) replaces ``np.expm1``, which is
    about ten times slower than ``np.exp``.
    """
    e = np.exp(-x)
    om = 1.0 - e
    small = x < 1e-3
    if np.any(small):
        xs = x[small]
        om[small] = xs * (1.0 - xs * (0.5 - xs * (1.0 / 6.0 - xs / 24.0)))
    return e, om


@dataclass(frozen=True, slots=True)
class SegmentCurves:
    """``C(t) = c0 + Σ_k a_k e^(−λ_k (t − t0))`` for ``M`` (patient, segment) pairs.

    Attributes
    ----------
    t0_min : NDArray[np.float64]
        Segment start, minutes, shape ``(M,)``.
    c0 : NDArray[np.float64]
        Constant term (steady state of the current inputs), ng/mL, shape ``(M,)``.
    a : NDArray[np.float64]
        Modal amplitudes, ng/mL, shape ``(n, M)`` (mode-major, for speed).
    lam : NDArray[np.float64]
        Rate constants λ, min⁻¹, shape ``(n, M)``.
    """

    t0_min: F64
    c0: F64
    a: F64
    lam: F64

    def value_and_slopes(self, t_min: F64) -> tuple[F64, F64, F64]:
        """C (ng/mL), dC/dt (ng/mL/min) and d²C/dt² at one time per row."""
        tau = t_min - self.t0_min
        c, d1, d2 = self.c0.copy(), np.zeros_like(tau), np.zeros_like(tau)
        for a, lam in zip(self.a, self.lam, strict=True):
            ae = a * np.exp(-lam * tau)
            c += ae
            ae *= lam
            d1 -= ae
            ae *= lam
            d2 += ae
        return c, d1, d2


@dataclass(frozen=True, slots=True)
class Solution:
    """Exact modal solution for ``N`` patients; evaluate it at any time.

    Attributes
    ----------
    lam_per_min : NDArray[np.float64]
        Disposition and absorption rate constants λ (minus the eigenvalues of ``K``),
        shape ``(N, n)``, min⁻¹.
    weights : NDArray[np.float64]
        Output weights in modal coordinates, ``out · V``, shape ``(N, n)``, ng/mL per unit.
    event_min : NDArray[np.float64]
        Sorted distinct event times (input starts and ends), shape ``(S,)``, minutes.
        Segment ``k`` runs from ``event_min[k]`` to ``event_min[k + 1]`` (the last to +∞).
    z0 : NDArray[np.float64]
        Modal state at the start of each segment (after boluses), shape ``(N, S, n)``.
    rate : NDArray[np.float64]
        Modal input rate within each segment, shape ``(N, S, n)``, per minute.
    """

    lam_per_min: F64
    weights: F64
    event_min: F64
    z0: F64
    rate: F64

    @property
    def n_patients(self) -> int:
        """Number of patients ``N``."""
        return int(self.lam_per_min.shape[0])

    def segment_of(self, t_min: ArrayLike) -> NDArray[np.intp]:
        """Index of the segment holding each time (−1 before the first event)."""
        t = np.asarray(t_min, dtype=np.float64)
        return np.searchsorted(self.event_min, t, "right") - 1

    def curves(self, rows: NDArray[np.intp], seg: NDArray[np.intp]) -> SegmentCurves:
        """Closed-form curve of patient ``rows[i]`` within segment ``seg[i]`` (seg ≥ 0)."""
        lam = self.lam_per_min[rows]
        w = self.weights[rows]
        r_over = self.rate[rows, seg] / lam
        return SegmentCurves(
            self.event_min[seg],
            np.einsum("mk,mk->m", w, r_over),
            np.ascontiguousarray((w * (self.z0[rows, seg] - r_over)).T),
            np.ascontiguousarray(lam.T),
        )

    def conc(self, t_min: ArrayLike) -> F64:
        """Concentration at shared times, ng/mL, shape ``(N, T)``; zero before the first dose.

        Parameters
        ----------
        t_min : array_like
            Times, minutes, shape ``(T,)`` (any order).
        """
        t = np.atleast_1d(np.asarray(t_min, dtype=np.float64))
        seg = self.segment_of(t)
        out = np.zeros((self.n_patients, t.size))
        for s in np.unique(seg[seg >= 0]):
            idx = np.flatnonzero(seg == s)
            minus_tau = self.event_min[s] - t[idx]
            c0, a = self._segment(int(s))
            part = np.repeat(c0[:, None], idx.size, axis=1)
            for k in range(a.shape[1]):  # one (N, T) pass per mode: faster than (N, T, n)
                x = np.multiply.outer(self.lam_per_min[:, k], minus_tau)
                np.exp(x, out=x)
                x *= a[:, k, None]
                part += x
            out[:, idx] = part
        res: F64 = np.maximum(out, 0.0)
        return res

    def _segment(self, s: int) -> tuple[F64, F64]:
        """``C = c0 + Σ a e^(−λτ)`` within segment ``s``, for every patient."""
        r_over = self.rate[:, s] / self.lam_per_min
        c0: F64 = np.einsum("nk,nk->n", self.weights, r_over)
        a: F64 = self.weights * (self.z0[:, s] - r_over)
        return c0, a

    def _integral_to(self, t_min: float) -> F64:
        """∫ C dt from −∞ to ``t_min`` for every patient, ng·min/mL, shape ``(N,)``."""
        total = np.zeros(self.n_patients)
        edges = np.append(self.event_min, np.inf)
        lam = self.lam_per_min
        for k in range(self.event_min.size):
            if t_min <= edges[k]:
                break
            h = min(t_min, edges[k + 1]) - edges[k]
            if np.isinf(h):  # the last segment has no input: free decay to infinity
                zint = self.z0[:, k] / lam
            else:
                x = lam * h
                _, om = _exp_pair(x)
                # ∫0^h e^(−λτ) dτ = om/λ ;  ∫0^h (1 − e^(−λτ))/λ dτ = (h − om/λ)/λ
                small = x < 1e-3
                g2 = np.where(small, h * h * (0.5 - x / 6.0 + x * x / 24.0), (h - om / lam) / lam)
                zint = self.z0[:, k] * om / lam + self.rate[:, k] * g2
            total += np.einsum("nk,nk->n", zint, self.weights)
        return total

    def auc(self, start_min: float = 0.0, end_min: float = np.inf) -> F64:
        """Exact area under the curve between two times, ng·min/mL, shape ``(N,)``.

        ``end_min = inf`` gives AUC to infinity (requires every infusion to end).
        """
        if end_min < start_min:
            raise DomainError(f"AUC window ends ({end_min} min) before it starts ({start_min})")
        out: F64 = self._integral_to(end_min) - self._integral_to(start_min)
        return out


def _eig_real(k: F64) -> tuple[F64, F64]:
    """Eigenvalues and eigenvectors of stacked real matrices, real parts only.

    A repeated eigenvalue can come out of LAPACK as a conjugate pair with a rounding-size
    imaginary part; its real eigenvectors then coincide, which :func:`_decompose` sees as a
    zero gap and splits like any other repeated eigenvalue.
    """
    w, v = np.linalg.eig(k)
    if np.iscomplexobj(w):
        if np.max(np.abs(w.imag)) > 1e-9 * np.max(np.abs(w.real)):
            raise DomainError("rate matrix has complex eigenvalues; not a compartment model")
        w, v = w.real, v.real
    return np.asarray(w, np.float64), np.asarray(v, np.float64)


def _decompose(k: F64) -> tuple[F64, F64, F64]:
    """Eigen-decompose ``K = V diag(w) V⁻¹``; split (nearly) coincident eigenvalues, e.g.
    ka = λ, by a tiny nudge.

    A repeated eigenvalue makes ``V`` singular. For the affected patients only, the diagonal
    of ``K`` is scaled by ``1 + O(1e-6)`` (distinct per compartment) and re-decomposed.
    """
    w, v = _eig_real(k)
    n = k.shape[-1]
    if n < 2:
        return w, v, np.asarray(np.linalg.inv(v), np.float64)
    ws = np.sort(w, axis=-1)
    gap = np.min(np.diff(ws, axis=-1) / np.maximum(np.abs(ws[:, 1:]), 1e-300), axis=-1)
    bad = gap < _DEGENERACY_GAP
    vinv = np.empty_like(v)
    vinv[~bad] = np.linalg.inv(v[~bad])
    if bad.any():
        kb = k[bad].copy()
        idx = np.arange(n)
        kb[:, idx, idx] *= 1.0 + 10 * _DEGENERACY_GAP * (idx + 1) / n
        wb, vb = _eig_real(kb)
        w[bad], v[bad], vinv[bad] = wb, vb, np.linalg.inv(vb)
    return w, v, vinv


def solve(system: LinearSystem, inputs: Sequence[Input]) -> Solution:
    """Solve a linear system exactly for a list of inputs.

    Parameters
    ----------
    system : LinearSystem
        Rate matrices (min⁻¹) and output weights (ng/mL per mg) for ``N`` patients.
    inputs : sequence of Input
        Boluses and zero-order inputs (mg, minutes); superposed.

    Returns
    -------
    Solution
        Exact solution; ``Solution.conc(times)`` gives ng/mL.

    Examples
    --------
    One compartment, V = 10 L, k = 0.1 min⁻¹, 1 mg bolus at t = 0:

    >>> import numpy as np
    >>> sys1 = LinearSystem(np.array([[[-0.1]]]), np.array([[100.0]]))
    >>> sol = solve(sys1, [Input(0.0, np.array([1.0]), 0)])
    >>> np.round(sol.conc([0.0, 10.0]), 4)
    array([[100.    ,  36.7879]])
    >>> np.round(sol.auc(), 6)  # D / CL = 1 mg / 1 L/min = 1000 ng·min/mL
    array([1000.])
    """
    k = np.asarray(system.rates_per_min, dtype=np.float64)
    if k.ndim != 3 or k.shape[1] != k.shape[2]:
        raise DomainError("rate matrix must have shape (N, n, n)")
    n_pat, n = k.shape[0], k.shape[1]
    if not inputs:
        raise DomainError("at least one dose is needed")
    w, v, vinv = _decompose(k)
    lam = -w
    if np.any(lam <= 0.0):
        raise DomainError("every compartment must drain (all eigenvalues negative)")
    weights: F64 = np.einsum("nj,nji->ni", system.out_ng_per_ml_per_mg, v)

    starts = [float(i.start_min) for i in inputs]
    ends = [float(i.start_min + i.duration_min) for i in inputs]
    events = np.unique(
        np.array(starts + [e for e, i in zip(ends, inputs, strict=True) if i.duration_min > 0])
    )
    n_seg = events.size
    z0 = np.zeros((n_pat, n_seg, n))
    rate = np.zeros((n_pat, n_seg, n))
    for inp in inputs:
        if inp.duration_min < 0 or not np.isfinite(inp.start_min) or not 0 <= inp.compartment < n:
            raise DomainError("input has a negative duration, a bad start or a bad compartment")
        amt = np.broadcast_to(np.asarray(inp.amount_mg, dtype=np.float64), (n_pat,))
        modal = vinv[:, :, inp.compartment] * amt[:, None]  # (N, n)
        s = int(np.searchsorted(events, inp.start_min))
        if inp.duration_min == 0.0:
            z0[:, s] += modal
        else:
            stop = int(np.searchsorted(events, inp.start_min + inp.duration_min))
            rate[:, s:stop] += (modal / inp.duration_min)[:, None, :]
    # Carry the state across segments (exact propagation; boluses are already in z0[:, k]).
    for kseg in range(1, n_seg):
        h = events[kseg] - events[kseg - 1]
        e, om = _exp_pair(lam * h)
        z0[:, kseg] += z0[:, kseg - 1] * e + rate[:, kseg - 1] * (om / lam)
    return Solution(lam, weights, events, z0, rate)
