"""Benchmark-only code (``benchmarks/*_batch.py``) for the tests that check it agrees with ketacare.

The vectorised intake rules and batch scorer are comparators of the benchmarks, not part of the
product (issue 16.7); the tests keep them honest against the per-record rules.
"""

from __future__ import annotations

import sys
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
if str(BENCHMARKS) not in sys.path:
    sys.path.insert(0, str(BENCHMARKS))

from intake_batch import (  # noqa: E402
    CONCLUSIONS,
    FLAGS,
    PRIMARY,
    STATUSES,
    assess_table,
    table_from_intakes,
)
from scoring_batch import MISSING, BatchResult, score_batch  # noqa: E402

__all__ = [
    "CONCLUSIONS",
    "FLAGS",
    "MISSING",
    "PRIMARY",
    "STATUSES",
    "BatchResult",
    "assess_table",
    "score_batch",
    "table_from_intakes",
]
