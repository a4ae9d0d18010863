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
    # The chair board's JSON, polled every 10 s by each board on the floor (issue 17: p99 <= 50
    # ms under the load mix): admitted through the live lane, not behind the queue.
    live=(
        r"/scheduling/sites/[0-9]+/board\.json",
        r"/api/v1/scheduling/sites/[0-9]+/board",
    ),
    session_page=("ketacare.features.scheduling.queries:session_page_context",),
)
