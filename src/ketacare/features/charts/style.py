"""One look for every chart: matplotlib settings and the colours (hex strings)."""

from __future__ import annotations

from typing import Any, Final

# Applied (under the lock) while a matplotlib chart is drawn and saved. Text stays text in the
# SVG (searchable, accessible, testable); a fixed hash salt makes the SVG ids deterministic.
RC: Final[Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "ketacare",
    "font.size": 9,
}

INK: Final = "#1d2733"  # lines and points of the data
MUTED: Final = "#5b6775"  # axis labels and ticks
FRAME: Final = "#d5dbe2"
BLUE: Final = "#1f5f8b"  # sessions, the predicted band
RED: Final = "#a4161a"
SERIES: Final = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b")
VITALS: Final = {
    "systolic": "#a4161a",
    "diastolic": "#e07a5f",
    "heart_rate": "#1f5f8b",
    "spo2": "#1b6e3a",
}

# Severity bands, by band code (instrument definitions), mildest first.
BAND_FILL: Final = {
    "none": "#e8f4ea",
    "mild": "#eef5d9",
    "moderate": "#fcf1d2",
    "moderately_severe": "#fbe3d3",
    "severe": "#f7d4d4",
    "very_severe": "#f1c2c2",
}
SEVERE_FILL: Final = "#f7d4d4"
OTHER_FILL: Final = "#eef1f4"


def band_fill(code: str, severe: bool = False) -> str:
    """The fill of a severity band: by its code, else by whether it is severe."""
    return BAND_FILL.get(code, SEVERE_FILL if severe else OTHER_FILL)
