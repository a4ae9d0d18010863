"""Clinic outcome analytics: CSV loading, the ``ketacare analytics`` commands and charts."""
