"""Measurement-based care: assessments, patient links, alerts and their periodic job."""

from ketacare.features.registry import Command, Feature, Job, NavLink

M = "ketacare.features.assessments"
FEATURE = Feature(
    name="assessments",
    nav=(
        NavLink(
            "Measurement",
            "Alerts",
            "/alerts",
            ("admin", "clinician", "nurse"),
            order=10,
            badge="alerts",
        ),
        NavLink(
            "Measurement",
            "Overdue",
            "/overdue",
            ("admin", "clinician", "nurse"),
            order=20,
            badge="overdue",
        ),
    ),
    routers=(
        f"{M}.api:router",
        f"{M}.public:router",
        f"{M}.pages:router",
    ),
    busy=(f"{M}.api:router", f"{M}.public:router", f"{M}.pages:router"),
    commands={
        "alerts": Command(
            "Measurement-based care jobs: alert escalation and assessment links.",
            f"{M}.cli:alerts_app",
        ),
    },
    jobs=(Job("links-and-alerts", f"{M}.periodic:run_job"),),
)
