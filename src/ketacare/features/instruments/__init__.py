"""Instrument library commands: list, show (JSON or FHIR), import, score."""
