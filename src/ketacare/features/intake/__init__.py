"""Intake feature: clinic protocol files and the ``dose``, ``schedule`` and ``eligibility`` CLI."""
