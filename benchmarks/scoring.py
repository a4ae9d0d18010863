"""Scoring speed: batch vs a NumPy row sum, one-response score(), and fhirpathpy per response.

Run: ``.venv/bin/python benchmarks/scoring.py`` (one run prints every figure and comparison).
Targets: ``score_batch("phq9", ...)`` >= 50 million item answers/s and within 3x of a plain
row sum of the same array; median ``score()`` <= 20 us for one PHQ-9.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from fhirpathpy import compile as fp_compile

from ketacare.domain.instruments import score
from scoring_batch import score_batch

LFORMS = Path(__file__).resolve().parents[1] / "tests" / "data" / "questionnaires"
LFORMS_PHQ9 = LFORMS / "lforms-phq9-r4.json"
LINKS = ["/44250-9", "/44255-8", "/44259-0", "/44254-1", "/44251-7", "/44258-2", "/44252-5"]
LINKS += ["/44253-3", "/44260-8"]
CODES = ["LA6568-5", "LA6569-3", "LA6570-1", "LA6571-9"]


def best_of(fn: Callable[[], object], repeat: int) -> float:
    """Fastest wall time of ``repeat`` calls, in seconds."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def lforms_oracle() -> Callable[[dict[str, Any]], list[Any]]:
    """The LHC-Forms PHQ-9 score expression (its 11 variables, then the total) in fhirpathpy."""
    q = json.loads(LFORMS_PHQ9.read_text(encoding="utf-8"))
    total = next(i for i in q["item"] if i["linkId"] == "/44261-6")
    steps = [
        (e["valueExpression"]["name"], fp_compile(e["valueExpression"]["expression"]))
        for e in total["extension"]
        if e["url"].endswith("/variable")
    ]
    calc = next(e for e in total["extension"] if e["url"].endswith("calculatedExpression"))
    final = fp_compile(calc["valueExpression"]["expression"])

    def evaluate(qr: dict[str, Any]) -> list[Any]:
        ctx: dict[str, Any] = {"questionnaire": q, "resource": qr}
        for name, fn in steps:
            ctx[name] = fn(qr, ctx)
        out: list[Any] = final(qr, ctx)
        return out

    return evaluate


def main() -> None:
    """Run every measurement once and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n", type=int, default=1_000_000, help="responses for the batch run")
    parser.add_argument("--oracle-n", type=int, default=100, help="responses for fhirpathpy")
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    a = rng.integers(0, 4, size=(args.n, 9), dtype=np.int8)
    answers = a.size

    score_batch("phq9", a[:1000])  # warm-up (loads and compiles the definition)
    t_batch = best_of(lambda: score_batch("phq9", a), 5)
    t_sum = best_of(lambda: a.sum(axis=1), 5)
    check = score_batch("phq9", a)
    assert np.array_equal(check.totals, a.sum(axis=1))
    print(f"score_batch('phq9'), {args.n:,} responses x 9 items (int8), best of 5")
    print(f"  score_batch      {t_batch * 1e3:8.1f} ms  {answers / t_batch / 1e6:8.1f} M answers/s")
    print(f"  numpy row sum    {t_sum * 1e3:8.1f} ms  {answers / t_sum / 1e6:8.1f} M answers/s")
    ratio = t_batch / t_sum
    print(f"  ratio batch/row sum: {ratio:.2f}x (target <= 3x; >= 50 M answers/s)")

    rows = [[int(v) for v in row] for row in a[:2000]]
    per: list[float] = []
    for row in rows:
        t = time.perf_counter()
        score("phq9", row)
        per.append(time.perf_counter() - t)
    t_one = statistics.median(per)
    t_loop = best_of(lambda: [score("phq9", r) for r in rows], 3) / len(rows)
    print(
        f"score('phq9', one response): median {t_one * 1e6:.1f} us over {len(rows)} calls "
        f"(loop average {t_loop * 1e6:.1f} us; target <= 20 us)"
    )

    oracle = lforms_oracle()
    qrs = [
        {
            "resourceType": "QuestionnaireResponse",
            "status": "completed",
            "item": [
                {
                    "linkId": link,
                    "answer": [{"valueCoding": {"system": "http://loinc.org", "code": CODES[v]}}],
                }
                for link, v in zip(LINKS, row, strict=True)
            ],
        }
        for row in rows[: args.oracle_n]
    ]
    times = []
    for qr, row in zip(qrs, rows, strict=False):
        t = time.perf_counter()
        got = oracle(qr)
        times.append(time.perf_counter() - t)
        assert got == [sum(row)]
    t_fp = statistics.median(times)
    print(
        f"fhirpathpy, LHC-Forms PHQ-9 score expression: median {t_fp * 1e3:.1f} ms per "
        f"response over {len(qrs)} -> {t_fp / t_one:,.0f}x slower than score(), "
        f"{t_fp / (t_batch / args.n):,.0f}x slower than score_batch per response"
    )


if __name__ == "__main__":
    main()
