"""Charts render to SVG (text kept as text) and PNG, with the expected parts."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from ketacare.domain.analytics import analyse_outcomes
from ketacare.features.charts.outcomes import km_chart, rates_chart

from .analytics_support import hand_tables


@pytest.fixture(scope="module")
def result():  # type: ignore[no-untyped-def]
    a, s, p = hand_tables()
    return analyse_outcomes(a, s, p, by=("protocol",))


def _ids(svg: str) -> set[str]:
    root = ET.fromstring(svg)
    return {e.get("id", "") for e in root.iter()}


def test_km_chart(result) -> None:  # type: ignore[no-untyped-def]
    curves = {g.group: g.time_to_response for g in result.breakdowns["protocol"]}
    curves["all"] = result.overall.time_to_response
    svg = km_chart(curves, risk_days=[0, 7, 14, 21, 28], note=["Response: >= 50%"])
    ids = _ids(svg)
    assert {"km-curve-all", "km-at-risk", "km-curve-iv-ketamine-induction"} <= ids
    assert "km-censored-all" in ids  # patient B censored at day 13
    assert "Number at risk" in svg and "Response: &gt;= 50%" in svg
    assert "<script" not in svg and 'href="http' not in svg  # nothing fetched from outside


def test_rates_chart(result) -> None:  # type: ignore[no-untyped-def]
    svg = rates_chart(result.overall, result.definitions)
    ids = _ids(svg)
    assert {"bar-response-end_of_induction", "bar-remission-day_28"} <= ids
    assert "end of induction" in svg and "day 28" in svg and "Wilson" in svg
    png = rates_chart(result.overall, result.definitions, fmt="png")
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_svg_is_deterministic(result) -> None:  # type: ignore[no-untyped-def]
    a = km_chart({"all": result.overall.time_to_response})
    b = km_chart({"all": result.overall.time_to_response})
    assert a == b
