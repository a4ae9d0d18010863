"""Benchmark: DSM-5 + staging + eligibility + pathway for 100,000 synthetic intakes.

How it is fast: the rules run vectorised with numpy over a columnar table
(``intake_batch.assess_table``), one array per fact, as a database query
would return them. tests/intake/test_batch.py checks every code against the per-intake path
(``assess_intake``), whose own median per intake is printed for comparison.

Run: ``.venv/bin/python benchmarks/intake.py``
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "intake"))

from intake_batch import FLAGS, Table, assess_table, table_from_intakes
from ketacare.domain.intake.verdict import assess_intake

N = 100_000


def synthetic_table(n: int, seed: int = 1) -> Table:
    """Random columnar intakes (-1 = unknown) with realistic mixes of known facts."""
    g = np.random.default_rng(seed)

    def tri(p_unknown: float, p_true: float) -> np.ndarray:
        u = g.random(n)
        return np.where(u < p_unknown, -1, (u < p_unknown + p_true).astype(int)).astype(np.int16)

    phq = g.integers(0, 4, size=(n, 9)).astype(np.int16)
    phq[g.random((n, 9)) < 0.01] = -1
    t: Table = {
        "phq9": phq,
        "attest": np.column_stack([tri(0.05, 0.9) for _ in range(4)]),
        "age": g.choice(np.array([-1, 17, 30, 45, 60, 72], dtype=np.int16), n),
        "sex": g.integers(-1, 3, n).astype(np.int16),
        "cssrs": g.integers(-1, 4, n).astype(np.int16),
        "months": g.integers(-1, 48, n).astype(np.int16),
        "clin_sev": g.integers(-1, 6, n).astype(np.int16),
        "trials": (g.random(n) > 0.05).astype(np.int16),
        "n_fail": g.integers(0, 6, n).astype(np.int16),
        "n_unk": g.integers(0, 2, n).astype(np.int16),
        "tr_base": g.integers(0, 5, n).astype(np.int16),  # Thase-Rush stage 0-IV before ECT
        "none_cls": g.integers(0, 2, n).astype(np.int16),
        "ect_bilat": tri(0.3, 0.3),
        "aug": tri(0.1, 0.5),
        "ect": tri(0.1, 0.2),
        "bp_sys": g.choice(np.array([-1, 118, 135, 146], dtype=np.int16), n),
        "bp_dia": g.choice(np.array([76, 88, 94], dtype=np.int16), n),
        "benzo": g.choice(np.array([np.nan, 0.0, 1.0, 4.0]), n),
    }
    for f in FLAGS:
        t[f] = tri(0.02, 0.05)
    return t


def main() -> None:
    table = synthetic_table(N)
    assess_table(table)  # warm-up
    runs = []
    for _ in range(7):
        t0 = time.perf_counter()
        codes = assess_table(table)
        runs.append(time.perf_counter() - t0)
    batch = statistics.median(runs)
    assert len(codes["pathway"]) == N
    print(f"vectorised: {N:,} intakes in {batch:.3f} s (median of 7 runs; min {min(runs):.3f} s)")
    print(f"  per-intake median (batch time / n): {batch / N * 1e6:.2f} us")

    from test_batch import random_intake  # type: ignore[import-not-found]

    r = random.Random(7)
    sample = [random_intake(r) for _ in range(2_000)]
    times = []
    for i in sample:
        t0 = time.perf_counter()
        assess_intake(i)
        times.append(time.perf_counter() - t0)
    med = statistics.median(times) * 1e6
    print(f"per-intake path (assess_intake, all reasons): median {med:.1f} us, n={len(sample):,}")
    t0 = time.perf_counter()
    table_from_intakes(sample)
    build = (time.perf_counter() - t0) / len(sample)
    print(f"building the table from Intake objects: {build * 1e6:.1f} us per intake")


if __name__ == "__main__":
    main()
