"""Measurement-based care: assessments, their score entry and the link page, alerts.

Schedules, links, the overdue list and the periodic job are ``features/outreach``; the job
asks this feature to escalate its alerts through the ``escalations`` hook."""

from ketacare.features.registry import Feature, NavLink

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
    ),
    routers=(
        f"{M}.api:router",
        f"{M}.public:router",
        f"{M}.pages:router",
    ),
    busy=(f"{M}.api:router", f"{M}.public:router", f"{M}.pages:router"),
    escalations=(f"{M}.alerting:escalate_due",),
)
