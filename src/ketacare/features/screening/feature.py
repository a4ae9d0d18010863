"""The public self-screen: its routers (the busiest route is the screening API)."""

from ketacare.features.registry import Feature

FEATURE = Feature(
    name="screening",
    routers=("ketacare.features.screening.api:router", "ketacare.features.screening.pages:router"),
    busy=("ketacare.features.screening.api:router",),
)
