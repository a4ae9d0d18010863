"""Scheduling and the treatment floor (issue 17): routers, CLI, jobs."""

from ketacare.features.registry import Feature

FEATURE = Feature(
    name="scheduling",
    routers=(
        "ketacare.features.scheduling.api:router",
        "ketacare.features.scheduling.pages:router",
        "ketacare.features.scheduling.public:router",
    ),
)
