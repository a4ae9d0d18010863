"""Clinics (time zone)."""

from ketacare.features.registry import Command, Feature

FEATURE = Feature(
    name="clinics",
    commands={
        "clinic": Command("Clinics (time zone).", "ketacare.features.clinics.cli:clinic_app")
    },
)
