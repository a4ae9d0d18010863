"""Runs every feature's registered periodic jobs: in the app and from ``ketacare jobs run``."""
