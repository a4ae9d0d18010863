"""Outcome charts (matplotlib) only; the outcome analytics live in ``features/reports``.

``charts.py`` stays here until the charts package (issue 16.6) takes it over.
"""
