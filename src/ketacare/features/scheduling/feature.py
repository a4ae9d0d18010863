"""Scheduling and the treatment floor (issue 17): routers, CLI, jobs."""

from ketacare.features.registry import Feature, Job

FEATURE = Feature(
    name="scheduling",
    routers=(
        "ketacare.features.scheduling.api:router",
        "ketacare.features.scheduling.pages:router",
        "ketacare.features.scheduling.public:router",
    ),
    jobs=(Job("scheduling-reminders", "ketacare.features.scheduling.reminders:run"),),
)
