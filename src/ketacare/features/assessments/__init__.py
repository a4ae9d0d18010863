"""Measurement-based care: stored scores, the one-time link page and alerts (schedules and
links themselves: ``features/outreach``)."""
