"""Clinic outcomes and patient progress reports (HTML, PDF), and the analytics database loader."""
