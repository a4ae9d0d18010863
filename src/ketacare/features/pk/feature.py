"""Pharmacokinetic predictions (command line)."""

from ketacare.features.registry import Command, Feature

FEATURE = Feature(
    name="pk",
    commands={
        "pk": Command(
            "Pharmacokinetic predictions (decision support, not dosing guidance).",
            "ketacare.features.pk.cli:pk_app",
        )
    },
)
