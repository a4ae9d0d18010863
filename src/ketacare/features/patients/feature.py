"""Patients: pages and API."""

from ketacare.features.registry import Feature

FEATURE = Feature(
    name="patients",
    routers=("ketacare.features.patients.pages:router", "ketacare.features.patients.api:router"),
)
