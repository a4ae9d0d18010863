"""The third-party files the tests and benchmarks read, inside the repository (tests/data/).

One place resolves them, so no test reads a folder outside the clone; origin and licence of
every file are in ``tests/data/README.md``.
"""

from __future__ import annotations

from pathlib import Path

DATA = Path(__file__).resolve().parent / "data"
PUBLISHED = DATA / "published"
QUESTIONNAIRES = DATA / "questionnaires"
SYNTHEA = DATA / "synthea"
