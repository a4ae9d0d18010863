"""PHQ-9 and GAD-7 scoring (clinical.md §2.1, §2.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.mbc.screening import (
    FREQUENCY_OPTIONS,
    GAD7_ITEMS,
    PHQ9_ITEMS,
    score_gad7,
    score_phq9,
)

items9 = st.lists(st.integers(0, 3), min_size=9, max_size=9)
items7 = st.lists(st.integers(0, 3), min_size=7, max_size=7)


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "none"),
        (4, "none"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "moderately_severe"),
        (19, "moderately_severe"),
        (20, "severe"),
        (27, "severe"),
    ],
)
def test_phq9_band_edges(total: int, band: str) -> None:
    items = [3] * (total // 3) + ([total % 3] if total % 3 else [])
    items += [0] * (9 - len(items))
    assert score_phq9(items).band == band


@pytest.mark.parametrize(
    ("total", "band"),
    [
        (0, "none"),
        (4, "none"),
        (5, "mild"),
        (9, "mild"),
        (10, "moderate"),
        (14, "moderate"),
        (15, "severe"),
        (21, "severe"),
    ],
)
def test_gad7_band_edges(total: int, band: str) -> None:
    items = [3] * (total // 3) + ([total % 3] if total % 3 else [])
    items += [0] * (7 - len(items))
    assert score_gad7(items).band == band


def test_item9_counts_at_one_and_mds_needs_core_symptom() -> None:
    # 4 "other" items >= 2 plus item 9 = 1 and one core item: 1 + 5 = 6 symptoms -> MDS.
    r = score_phq9([2, 0, 2, 2, 2, 2, 0, 0, 1])
    assert r.item9_positive and r.major_depressive_syndrome
    # Same but no core symptom (items 1-2 below 2): never MDS.
    r = score_phq9([1, 1, 2, 2, 2, 2, 2, 2, 3])
    assert not r.major_depressive_syndrome and not r.other_depressive_syndrome
    # Core + 3 others = 4 symptoms -> other depressive syndrome.
    r = score_phq9([2, 0, 2, 2, 0, 0, 0, 0, 1])
    assert r.other_depressive_syndrome and not r.major_depressive_syndrome
    # Item 9 = 0 does not count; items at 1 ("several days") do not count.
    r = score_phq9([3, 3, 1, 1, 1, 1, 1, 1, 0])
    assert not r.item9_positive and r.other_depressive_syndrome


def test_difficulty_is_never_added() -> None:
    assert score_phq9([1] * 9, difficulty=3).total == 9


@pytest.mark.parametrize(
    ("answers", "field"),
    [
        ([0] * 8, "phq9"),
        ([0] * 10, "phq9"),
        ([0] * 8 + [4], "phq9.9"),
        ([0, None] + [0] * 7, "phq9.2"),
        ([0, "1"] + [0] * 7, "phq9.2"),
        ([True] + [0] * 8, "phq9.1"),
        ("000000000", "phq9"),
        ([0] * 8 + [-1], "phq9.9"),
    ],
)
def test_invalid_answers_name_the_item(answers: object, field: str) -> None:
    with pytest.raises(InvalidAnswer) as err:
        score_phq9(answers)  # type: ignore[arg-type]
    assert err.value.field == field


def test_gad7_invalid_item_named() -> None:
    with pytest.raises(InvalidAnswer, match=r"gad7\.7"):
        score_gad7([0, 0, 0, 0, 0, 0, 9])


def test_instrument_wording() -> None:
    assert FREQUENCY_OPTIONS[0] == "Not at all"  # not "Not at all sure" (Zorowitz 2021)
    assert len(PHQ9_ITEMS) == 9 and len(GAD7_ITEMS) == 7
    assert PHQ9_ITEMS[8].startswith("Thoughts that you would be better off dead")


@given(items9)
def test_phq9_total_in_range_and_is_sum(items: list[int]) -> None:
    r = score_phq9(items)
    assert 0 <= r.total <= 27 and r.total == sum(items)
    assert r.item9_positive == (items[8] >= 1)


@given(items9, st.integers(0, 8))
def test_phq9_monotone_in_every_item(items: list[int], i: int) -> None:
    if items[i] < 3:
        higher = [*items]
        higher[i] += 1
        assert score_phq9(higher).total == score_phq9(items).total + 1


@given(items7)
def test_gad7_total_in_range(items: list[int]) -> None:
    assert 0 <= score_gad7(items).total <= 21
