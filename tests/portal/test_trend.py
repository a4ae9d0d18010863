"""The plain-language trend sentences (their examples run as doctests)."""

from __future__ import annotations

import doctest

from ketacare.features.portal import trend


def test_trend_examples() -> None:
    result = doctest.testmod(trend)
    assert result.attempted >= 6 and result.failed == 0


def test_lower_is_worse_instrument_reads_the_other_way() -> None:
    text = trend.explain("WHO-5", 8, 16, "lower_is_worse", None)
    assert text.startswith("Your WHO-5 score went from 8 at the start to 16 — a 100% rise.")
    assert "a higher score means fewer symptoms" in text
