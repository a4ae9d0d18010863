"""Patients: pages and API."""

from ketacare.features.registry import Feature, NavLink

FEATURE = Feature(
    name="patients",
    nav=(
        NavLink(
            "Patients",
            "Patients",
            "/patients",
            ("admin", "clinician", "nurse", "frontdesk"),
            order=10,
        ),
    ),
    routers=("ketacare.features.patients.pages:router", "ketacare.features.patients.api:router"),
)
