"""The demo clinic: ``ketacare demo seed`` and ``ketacare demo generate``."""

from ketacare.features.registry import Command, Feature

FEATURE = Feature(
    name="demo",
    commands={"demo": Command("Demo clinic.", "ketacare.features.demo.cli:demo_app")},
)
