"""Append-only audit log of every access to patient data."""
