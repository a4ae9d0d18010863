"""Scheduling and the treatment floor (issue 17): routers, CLI, jobs."""

from ketacare.features.registry import Command, Feature, Job, NavLink

FEATURE = Feature(
    name="scheduling",
    nav=(
        NavLink(
            "Today",
            "Schedule",
            "/scheduling",
            ("admin", "clinician", "nurse", "frontdesk"),
            order=20,
        ),
    ),
    routers=(
        "ketacare.features.scheduling.api:router",
        "ketacare.features.scheduling.pages:router",
        "ketacare.features.scheduling.public:router",
    ),
    commands={
        "scheduling": Command(
            "Scheduling: sites, chairs, closures, staff shifts, reminders.",
            "ketacare.features.scheduling.cli:scheduling_app",
        )
    },
    prescriber_cover=("ketacare.features.scheduling.service:prescriber_cover",),
    jobs=(
        Job("scheduling-reminders", "ketacare.features.scheduling.reminders:run"),
        Job("waitlist-offers", "ketacare.features.scheduling.offers:run"),
    ),
    session_page=("ketacare.features.scheduling.queries:session_page_context",),
)
