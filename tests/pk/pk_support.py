"""Shared helpers for the PK tests: published tables and a reference ODE integration."""

from __future__ import annotations

import csv
import itertools
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp
from tests.data_files import PUBLISHED

from ketacare.domain.pk import Input, LinearSystem


def read_table(name: str) -> list[dict[str, str]]:
    with (PUBLISHED / name).open(newline="") as fh:
        return list(csv.DictReader(fh))


def ode_reference(
    system: LinearSystem, inputs: Sequence[Input], times: NDArray[np.float64], patient: int = 0
) -> NDArray[np.float64]:
    """Integrate dx/dt = K x + b(t) with solve_ivp (DOP853, rtol 1e-10), piecewise by event."""
    k = system.rates_per_min[patient]
    out_w = system.out_ng_per_ml_per_mg[patient]
    n = k.shape[0]
    events = sorted(
        {i.start_min for i in inputs} | {i.start_min + i.duration_min for i in inputs}
        | {0.0, float(times.max())}
    )  # fmt: skip
    x = np.zeros(n)
    result = np.zeros(times.size)
    for a, b in itertools.pairwise(events):
        for i in inputs:
            if i.duration_min == 0.0 and i.start_min == a:
                x[i.compartment] += i.amount_mg[patient]
        rate = np.zeros(n)
        for i in inputs:
            if i.duration_min > 0 and i.start_min <= a < i.start_min + i.duration_min:
                rate[i.compartment] += i.amount_mg[patient] / i.duration_min
        inside = (times >= a) & (times <= b)
        t_eval = np.unique(np.append(times[inside], b))
        sol = solve_ivp(
            lambda _t, y, r=rate: k @ y + r,
            (a, b),
            x,
            method="DOP853",
            rtol=1e-10,
            atol=1e-14,
            t_eval=t_eval,
        )
        result[inside] = out_w @ sol.y[:, np.searchsorted(t_eval, times[inside])]
        x = sol.y[:, -1]
    return result
