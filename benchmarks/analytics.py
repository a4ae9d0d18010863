"""Benchmark: clinic outcome analytics over 1,000,000 patients and 20,000,000 assessments.

One run prints: data generation, ``analyse_outcomes`` (every figure: completion, dropout,
response/remission at end of induction and days 14/28/42 with Wilson intervals, change,
"ever" rates, Kaplan–Meier time to response and relapse, breakdowns by protocol, sex and age
band), the same with rows shuffled (the sort path), one DuckDB SQL aggregate over the same
in-memory arrays (near-limit reference) and a plain pandas groupby implementation of the core
per-patient steps. Target: the full analysis in < 10 s.

Run: ``.venv/bin/python benchmarks/analytics.py [--patients N] [--per-patient K]``.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np

from ketacare.domain.analytics import (
    AnalyticsConfig,
    AssessmentTable,
    PatientTable,
    SessionTable,
    analyse_outcomes,
)

DAY = 86400
PROTOCOLS = np.array(["iv-ketamine-induction", "esketamine-trd"])


def generate(n: int, per: int, seed: int = 8) -> tuple[AssessmentTable, SessionTable, PatientTable]:
    """A synthetic clinic, rows ordered by patient and time (as a database export would be)."""
    rng = np.random.default_rng(seed)
    pid = np.arange(n, dtype=np.int64)
    t0 = np.datetime64("2024-01-01T09:00:00", "s").astype(np.int64) + rng.integers(0, 365, n) * DAY
    proto = rng.integers(0, 2, n)
    # sessions: 1-8 per patient (8 % stop after the first), 2-4 days apart
    n_s = np.where(rng.random(n) < 0.08, 1, rng.integers(2, 9, n))
    s_pid = np.repeat(pid, n_s)
    gap = rng.integers(2, 5, s_pid.size) * DAY
    starts = np.concatenate([[0], np.cumsum(n_s)[:-1]])
    gap[starts] = 0
    c = np.cumsum(gap)
    s_t = np.repeat(t0, n_s) + c - np.repeat(c[starts], n_s)
    sessions = SessionTable(s_pid, s_t.astype("datetime64[s]"), PROTOCOLS[np.repeat(proto, n_s)])
    # assessments: a screening 2 days before, then every 1-7 days; scores fall then drift
    a_pid = np.repeat(pid, per)
    step = rng.integers(1, 8, a_pid.size).astype(np.int64)
    first = np.arange(0, a_pid.size, per)
    step[first] = -2
    c = np.cumsum(step)
    rel_day = c - np.repeat(c[first], per) - 2
    a_t = np.repeat(t0, per) + rel_day * DAY + rng.integers(0, 8, a_pid.size) * 3600
    base = rng.integers(10, 28, n).astype(np.float64)
    effect = rng.beta(2, 2, n)
    progress = np.minimum(np.maximum(rel_day, 0) / 21.0, 1.0)
    drift = np.maximum(rel_day - 35, 0) / 60.0 * rng.random(n).repeat(per)
    score = np.repeat(base, per) * (1 - np.repeat(effect, per) * progress + drift)
    total = np.clip(np.rint(score + rng.normal(0, 2, a_pid.size)), 0, 27)
    assessments = AssessmentTable("phq9", a_pid, a_t.astype("datetime64[s]"), total)
    sex = np.array(["female", "male"])[rng.integers(0, 2, n)]
    patients = PatientTable(pid, sex, rng.integers(18, 80, n).astype(np.float64))
    return assessments, sessions, patients


def run_ours(a: AssessmentTable, s: SessionTable, p: PatientTable) -> tuple[float, Any]:
    t = time.perf_counter()
    r = analyse_outcomes(a, s, p, config=AnalyticsConfig(), by=("protocol", "sex", "age-band"))
    return time.perf_counter() - t, r


def run_duckdb(a: AssessmentTable, s: SessionTable) -> tuple[float, tuple[Any, ...]]:
    import duckdb
    import pyarrow as pa  # type: ignore[import-untyped]

    con = duckdb.connect(":memory:")
    con.execute("SET autoinstall_known_extensions=false")
    con.execute("SET autoload_known_extensions=false")
    at = pa.table({"pid": a.patient_id, "t": a.when.astype(np.int64), "total": a.total})
    st = pa.table({"pid": s.patient_id, "t": s.when.astype(np.int64)})
    con.register("assessments", at)
    con.register("sessions", st)
    sql = """
    WITH s AS (SELECT pid, min(t) AS t0 FROM sessions GROUP BY pid),
    r AS (SELECT a.pid, a.t - s.t0 AS rel, a.total FROM assessments a JOIN s USING (pid)),
    b AS (SELECT pid, arg_max(total, rel) AS base FROM r WHERE rel <= 0 GROUP BY pid),
    p AS (
      SELECT r.pid,
             bool_or(r.rel > 0 AND (b.base - r.total) / b.base >= 0.5) AS ever_resp,
             arg_min(r.total, abs(r.rel - 28 * 86400))
               FILTER (WHERE r.rel > 0 AND abs(r.rel - 28 * 86400) <= 7 * 86400) AS d28,
             any_value(b.base) AS base
      FROM r JOIN b USING (pid) WHERE b.base > 0 GROUP BY r.pid)
    SELECT count(*) AS n_analysable, count_if(ever_resp) AS ever_response,
           count(d28) AS d28_observed, count_if((base - d28) / base >= 0.5) AS d28_response
    FROM p
    """
    t = time.perf_counter()
    row = con.execute(sql).fetchone()
    elapsed = time.perf_counter() - t
    con.close()
    assert row is not None
    return elapsed, tuple(row)


def run_pandas(a: AssessmentTable, s: SessionTable) -> tuple[float, tuple[int, ...]]:
    import pandas as pd  # type: ignore[import-untyped]

    t = time.perf_counter()
    sdf = pd.DataFrame({"pid": s.patient_id, "t": s.when.astype(np.int64)})
    t0 = sdf.groupby("pid")["t"].min()
    df = pd.DataFrame({"pid": a.patient_id, "t": a.when.astype(np.int64), "total": a.total})
    df = df[df["pid"].isin(t0.index)].sort_values(["pid", "t"], kind="stable")
    df["rel"] = df["t"].to_numpy() - t0.reindex(df["pid"]).to_numpy()
    base = df[df["rel"] <= 0].groupby("pid")["total"].last()
    base = base[base > 0]
    post = df[(df["rel"] > 0) & df["pid"].isin(base.index)].copy()
    b = base.reindex(post["pid"]).to_numpy()
    post["resp"] = (b - post["total"].to_numpy()) / b >= 0.5
    ever = post.groupby("pid")["resp"].any()
    post["dist"] = (post["rel"] - 28 * DAY).abs()
    near = post[post["dist"] <= 7 * DAY]
    d28 = near.loc[near.groupby("pid")["dist"].idxmin()]
    out = (
        len(base),
        int(ever.sum()),
        len(d28),
        int(d28["resp"].sum()),
    )
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--patients", type=int, default=1_000_000)
    ap.add_argument("--per-patient", type=int, default=20)
    ap.add_argument("--skip-pandas", action="store_true")
    args = ap.parse_args()
    t = time.perf_counter()
    a, s, p = generate(args.patients, args.per_patient)
    print(f"generate: {args.patients:,} patients, {len(a):,} assessments, {len(s):,} sessions "
          f"in {time.perf_counter() - t:.2f} s")  # fmt: skip

    elapsed, r = run_ours(a, s, p)
    o = r.overall
    eoi, d28 = o.end_of_induction, o.timepoints[1]
    print(f"ketacare analyse_outcomes (sorted input, 3 breakdowns): {elapsed:.2f} s")
    print(f"  n_patients {o.n_patients:,}, analysable {o.n_analysable:,}; end of induction "
          f"response {eoi.response.rate:.3f} {eoi.response.ci}; KM rows "
          f"{o.time_to_response.time_days.size:,}")  # fmt: skip
    ours = (o.n_analysable, o.ever.response.k, d28.n_observed, d28.response.k)
    print(f"  check figures (analysable, ever response, day-28 observed, day-28 response): {ours}")

    rng = np.random.default_rng(1)
    perm = rng.permutation(len(a))
    shuffled = AssessmentTable(a.instrument, a.patient_id[perm], a.when[perm], a.total[perm])
    elapsed_sh, r2 = run_ours(shuffled, s, p)
    assert r2.overall.as_dict()["response_ci"] == o.as_dict()["response_ci"]
    print(f"ketacare analyse_outcomes (shuffled assessment rows): {elapsed_sh:.2f} s")
    del shuffled, perm, r2

    elapsed_db, row = run_duckdb(a, s)
    print(f"DuckDB SQL aggregate (same 4 check figures only): {elapsed_db:.2f} s -> {row}")
    assert row == ours, (row, ours)
    if not args.skip_pandas:
        elapsed_pd, pd_row = run_pandas(a, s)
        print(f"pandas groupby (same 4 check figures only): {elapsed_pd:.2f} s -> {pd_row}")
        assert pd_row == ours, (pd_row, ours)
    print(f"target < 10 s for the full analysis: {'met' if elapsed < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
