"""Hypothesis properties: totals in range, monotone in every item, band edges, batch = score."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import (
    ScoreResult,
    get_instrument,
    instrument_ids,
    score,
)
from ketacare.domain.instruments.scoring import compiled
from tests.benchmark_code import MISSING, score_batch
from tests.instruments.instr_support import responses

ALL = instrument_ids()
NUMERIC = tuple(i for i in ALL if get_instrument(i).range is not None)
LEVELS = ("none", "low", "moderate", "high")


def _severity(result: ScoreResult) -> int:
    """The total (C-SSRS: the triage level), which never falls when an item score rises."""
    if result.total is None:
        return LEVELS.index(result.band or "none")
    return result.total


@pytest.mark.parametrize("instrument_id", NUMERIC)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_total_within_range_and_band_contains_total(
    instrument_id: str, data: st.DataObject
) -> None:
    inst = get_instrument(instrument_id)
    answers = data.draw(responses(inst))
    r = score(instrument_id, answers)
    assert inst.range is not None
    assert r.total is not None
    assert inst.range[0] <= r.total <= inst.range[1]
    for band in inst.bands:
        assert band.min is not None
        assert band.max is not None
        if band.min <= r.total <= band.max:
            assert r.band == band.code


@pytest.mark.parametrize("instrument_id", ALL)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_monotone_in_every_item(instrument_id: str, data: st.DataObject) -> None:
    inst = get_instrument(instrument_id)
    answers = data.draw(responses(inst))
    base = score(instrument_id, answers)
    c = compiled(instrument_id)
    for n, item in enumerate(inst.items):
        v = answers[n]
        if v is None or not item.scored:
            continue
        s = c.item_score(n, v)
        for higher in item.options:
            hs = higher.score
            if hs is None or s is None or hs <= s:
                continue
            bumped = list(answers)
            bumped[n] = higher.value
            try:
                r = score(instrument_id, bumped)
            except InvalidAnswer:  # e.g. C-SSRS Q2 = yes now requires Q3-Q5
                continue
            assert _severity(r) >= _severity(base), (item.id, answers, bumped)


@pytest.mark.parametrize("instrument_id", NUMERIC)
def test_band_edges(instrument_id: str) -> None:
    inst = get_instrument(instrument_id)
    c = compiled(instrument_id)
    for band in inst.bands:
        assert band.min is not None
        assert band.max is not None
        for total in (band.min, band.max):
            found = c.band_of(total, None)
            assert found is not None
            assert found.code == band.code
        if band.min > 0:
            below = c.band_of(band.min - 1, None)
            assert below is not None
            assert below.code != band.code


@pytest.mark.parametrize(
    ("instrument_id", "edges"),
    [
        ("phq9", {4: "none", 5: "mild", 9: "mild", 10: "moderate", 14: "moderate"}),
        ("phq9", {15: "moderately_severe", 19: "moderately_severe", 20: "severe", 27: "severe"}),
        (
            "qids-sr16",
            {5: "none", 6: "mild", 10: "mild", 11: "moderate", 16: "severe", 21: "very_severe"},
        ),
        ("madrs", {6: "none", 7: "mild", 19: "mild", 20: "moderate", 34: "moderate", 35: "severe"}),
        (
            "hamd17",
            {7: "none", 8: "mild", 13: "mild", 14: "moderate", 19: "severe", 23: "very_severe"},
        ),
    ],
)
def test_reference_band_edges(instrument_id: str, edges: dict[int, str]) -> None:
    c = compiled(instrument_id)
    for total, code in edges.items():
        band = c.band_of(total, None)
        assert band is not None
        assert band.code == code


@pytest.mark.parametrize("instrument_id", ALL)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_batch_agrees_with_score(instrument_id: str, data: st.DataObject) -> None:
    inst = get_instrument(instrument_id)
    rows = data.draw(st.lists(responses(inst), min_size=1, max_size=20))
    a = np.array([[MISSING if v is None else v for v in row] for row in rows], dtype=np.int16)
    batch = score_batch(instrument_id, a)
    assert batch.valid.all()
    for k, row in enumerate(rows):
        r = score(instrument_id, row)
        assert batch.totals[k] == (-1 if r.total is None else r.total)
        code = batch.band_codes[k]
        assert (batch.band_names[code] if code >= 0 else None) == r.band
        for flag, mask in batch.flags.items():
            assert bool(mask[k]) == (flag in r.flags), flag
