"""The periodic job runner: ``ketacare jobs run [--once]``."""

from ketacare.features.registry import Command, Feature

FEATURE = Feature(
    name="jobs",
    commands={
        "jobs": Command(
            "Periodic jobs of every feature (links, alerts, ...).",
            "ketacare.features.jobs.cli:jobs_app",
        )
    },
)
