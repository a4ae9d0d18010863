"""Treatment sessions: charting API and pages."""

from ketacare.features.registry import Feature

FEATURE = Feature(
    name="sessions",
    routers=("ketacare.features.sessions.api:router", "ketacare.features.sessions.pages:router"),
    busy=("ketacare.features.sessions.api:router",),
)
