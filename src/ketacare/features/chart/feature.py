"""Patient chart: the panels of the patient page (no routes of its own)."""

from ketacare.features.registry import Feature

FEATURE = Feature(name="chart", chart_panels=("ketacare.features.chart.panels:panels",))
