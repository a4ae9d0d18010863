"""Outreach: assessment schedules, one-time links, the overdue list, the notifier and the
periodic ``links-and-alerts`` job."""

from ketacare.features.registry import Command, Feature, Job, NavLink

M = "ketacare.features.outreach"
FEATURE = Feature(
    name="outreach",
    nav=(
        NavLink(
            "Measurement",
            "Overdue",
            "/overdue",
            ("admin", "clinician", "nurse"),
            order=20,
            badge="overdue",
        ),
    ),
    routers=(f"{M}.api:router", f"{M}.pages:router"),
    commands={
        "alerts": Command(
            "Measurement-based care jobs: alert escalation and assessment links.",
            f"{M}.cli:alerts_app",
        ),
    },
    jobs=(Job("links-and-alerts", f"{M}.jobs:run_job"),),
)
