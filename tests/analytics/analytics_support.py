"""Shared helpers for the analytics tests: paths and a hand-computed cohort."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from ketacare.domain.analytics import AssessmentTable, PatientTable, SessionTable
from tests.data_files import PUBLISHED

__all__ = ["PUBLISHED"]

REPO = Path(__file__).resolve().parents[2]
DAY0 = date(2024, 1, 1)


def day(n: int) -> str:
    """ISO date ``n`` days after 2024-01-01."""
    return (DAY0 + timedelta(days=n)).isoformat()


#: (patient, day, total) for PHQ-9; E has no session (untreated).
HAND_ASSESSMENTS = [
    ("A", -3, 22), ("A", 0, 20), ("A", 7, 12), ("A", 14, 9), ("A", 28, 4), ("A", 35, 11),
    ("A", 42, 12),
    ("B", 0, 18), ("B", 13, 15),
    ("C", -1, 25), ("C", 15, 13), ("C", 27, 10), ("C", 42, 4),
    ("D", 5, 10),
    ("E", 0, 20), ("E", 10, 5),
]  # fmt: skip
HAND_SESSIONS = (
    [("A", d, "iv-ketamine-induction") for d in (0, 2, 4, 7, 9, 11)]
    + [("B", 0, "iv-ketamine-induction")]
    + [("C", d, "esketamine-trd") for d in (0, 3, 7, 10, 14, 17, 21, 24)]
    + [("D", d, "iv-ketamine-induction") for d in (0, 3)]
)
HAND_PATIENTS = [("A", "female", 30.0), ("B", "Male", 50.0), ("C", "female", 70.0)]


def hand_tables() -> tuple[AssessmentTable, SessionTable, PatientTable]:
    """The hand-computed cohort as tables (rows deliberately out of order)."""
    a = list(reversed(HAND_ASSESSMENTS))
    s = HAND_SESSIONS[::2] + HAND_SESSIONS[1::2]
    return (
        AssessmentTable.from_arrays(
            "phq9", [r[0] for r in a], [day(r[1]) for r in a], [r[2] for r in a]
        ),
        SessionTable.from_arrays([r[0] for r in s], [day(r[1]) for r in s], [r[2] for r in s]),
        PatientTable.from_arrays(
            [r[0] for r in HAND_PATIENTS],
            [r[1] for r in HAND_PATIENTS],
            [r[2] for r in HAND_PATIENTS],
        ),
    )
