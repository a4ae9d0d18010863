"""Measurement-based care: assessment schedules, one-time links, stored scores and alerts."""
