"""Patient and clinic reports, the outcomes API and pages, and ``ketacare analytics``."""

from ketacare.features.registry import Command, Feature, NavLink

M = "ketacare.features.reports"
FEATURE = Feature(
    name="reports",
    nav=(
        NavLink("Measurement", "Outcomes", "/analytics", ("admin", "clinician", "nurse"), order=30),
    ),
    routers=(f"{M}.api:router", f"{M}.pages:router"),
    commands={
        "analytics": Command(
            "Clinic outcome analytics (response, remission, Kaplan–Meier).",
            f"{M}.outcomes_cli:analytics_app",
        ),
        "report": Command(
            "Patient progress and clinic outcomes reports (PDF).", f"{M}.cli:report_app"
        ),
    },
)
