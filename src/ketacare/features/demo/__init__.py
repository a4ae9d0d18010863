"""Synthetic clinic: seeded patients, courses, sessions and assessments for demos and tests."""
