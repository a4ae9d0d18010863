"""The public self-screen: its routers (the busiest route is the screening API)."""

from ketacare.features.registry import Feature, NavLink

FEATURE = Feature(
    name="screening",
    nav=(
        NavLink(
            "Patients",
            "Consultation requests",
            "/leads",
            ("admin", "clinician", "nurse", "frontdesk"),
            order=20,
        ),
    ),
    routers=("ketacare.features.screening.api:router", "ketacare.features.screening.pages:router"),
    busy=("ketacare.features.screening.api:router",),
)
