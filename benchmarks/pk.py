"""PK engine benchmark (one run; prints every figure and the comparisons).

    .venv/bin/python benchmarks/pk.py [--n 100000]

1. 100,000 virtual patients (Domino, borrowed Otto 2021 IIV) on the six-session
   ``iv-ketamine-induction`` course: Cmax, AUC and time above 100 ng/mL for each.
2. One patient's 4-hour curve at 1-second resolution (14,401 points).
3. Per-patient ratio against scipy ``solve_ivp`` (DOP853, rtol 1e-10) on the same course.
4. opentiva (1-s grid, if installed) on the same course, one patient.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import os
import platform
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

from ketacare.domain.pk import (
    Covariates,
    Input,
    LinearSystem,
    get_model,
    get_protocol,
    iv_infusion,
    simulate,
    simulate_cohort,
)

F64 = NDArray[np.float64]


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Best wall time of ``repeat`` runs, seconds."""
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return float(best)


def ode_course(system: LinearSystem, inputs: list[Input], end_min: float) -> tuple[float, float]:
    """Cmax and AUC of patient 0 by solve_ivp, piecewise between dose events."""
    k, w = system.rates_per_min[0], system.out_ng_per_ml_per_mg[0]
    n = k.shape[0]
    events = sorted({0.0, end_min} | {i.start_min for i in inputs}
                    | {i.start_min + i.duration_min for i in inputs})  # fmt: skip
    x, cmax, auc = np.zeros(n + 1), 0.0, 0.0  # last state: running AUC
    kk = np.zeros((n + 1, n + 1))
    kk[:n, :n], kk[n, :n] = k, w
    for a, b in itertools.pairwise(events):
        rate = np.zeros(n + 1)
        for i in inputs:
            if i.start_min <= a < i.start_min + i.duration_min:
                rate[i.compartment] += i.amount_mg[0] / i.duration_min
        sol = solve_ivp(lambda _t, y, r=rate: kk @ y + r, (a, b), x, method="DOP853",
                        rtol=1e-10, atol=1e-12, dense_output=False)  # fmt: skip
        cmax = max(cmax, float((w @ sol.y[:n]).max()))
        x = sol.y[:, -1]
        auc = float(x[n])
    return cmax, auc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=100_000)
    args = parser.parse_args()
    proto = get_protocol("iv-ketamine-induction")
    model = get_model("domino")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, NumPy {np.__version__}")  # fmt: skip

    # 1. Cohort.
    t_cohort = timed(
        lambda: simulate_cohort(model, proto.doses, args.n, end_min=proto.end_min), repeat=3
    )
    res = simulate_cohort(model, proto.doses, 1000, end_min=proto.end_min)
    print(
        f"cohort: {args.n:,} patients × 6 sessions, Cmax/AUC/time>100: "
        f"{t_cohort:.2f} s (best of 3; {t_cohort / args.n * 1e6:.1f} µs/patient)"
    )
    met = res.metrics
    print(
        f"  median Cmax {np.median(met.cmax_ng_per_ml):.1f} ng/mL, "
        f"median time above 100 ng/mL {np.median(met.time_above_min):.1f} min"
    )

    # 2. One patient, 4 h at 1 s.
    t_1s = np.arange(0, 4 * 3600 + 1) / 60.0
    dose = [iv_infusion(mg_per_kg=0.5, minutes=40.0)]
    simulate(model, dose, t_1s)  # warm-up
    t_curve = timed(lambda: simulate(model, dose, t_1s), repeat=20)
    print(f"one patient, 4 h at 1 s ({t_1s.size:,} points): {t_curve * 1e3:.2f} ms (best of 20)")

    # 3. solve_ivp per patient on the same course.
    cov = Covariates.of(70.0, 45.0, n=1)
    eta = model.zero_eta(1)
    system, inputs = model.system(cov, eta), model.inputs(proto.doses, cov, eta)
    t_ode = timed(lambda: ode_course(system, inputs, proto.end_min), repeat=3)
    ode_cmax, ode_auc = ode_course(system, inputs, proto.end_min)
    ours = simulate(model, proto.doses, [0.0], until_min=proto.end_min)
    per_patient = t_cohort / args.n
    print(f"solve_ivp (DOP853, rtol 1e-10), one patient, same course: {t_ode * 1e3:.1f} ms; "
          f"ratio {t_ode / per_patient:,.0f}× (engine, per patient in the cohort)")  # fmt: skip
    print(f"  agreement: Cmax {ours.cmax:.4f} vs {ode_cmax:.4f} ng/mL (ODE on its own steps), "
          f"AUC {ours.auc():.2f} vs {ode_auc:.2f} ng·min/mL")  # fmt: skip

    # 4. opentiva, one patient, same course, 1-s grid.
    try:
        ot_ketamine: Any = importlib.import_module("opentiva.ketamine")
        ot_pump: Any = importlib.import_module("opentiva.pump")
    except ImportError:
        print("opentiva: not installed (scripts/install-test-extras.sh); comparison skipped")
        return

    def run_opentiva() -> F64:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = ot_ketamine.Domino(sex=0, age=40, weight=70.0, height=175)
            pump = ot_pump.Pump(model=m, drug_concentration=10, end_time=int(proto.end_min * 60))
            for d in proto.doses:
                pump.add_infusion(start=int(d.time_min * 60), dose=35 / 2400, duration=2400)
            out: F64 = np.asarray(pump.run())
        return out

    t_ot = timed(run_opentiva)
    ot = run_opentiva()
    print(f"opentiva (1-s grid), one patient, same course: {t_ot:.2f} s; "
          f"ratio {t_ot / per_patient:,.0f}× (engine, per patient); "
          f"Cmax {ot[:, 1].max() * 1000:.2f} ng/mL vs {ours.cmax:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
