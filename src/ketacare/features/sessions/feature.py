"""Treatment sessions: charting API and pages."""

from ketacare.features.registry import Feature, NavLink

FEATURE = Feature(
    name="sessions",
    nav=(NavLink("Today", "Today", "/today", ("admin", "clinician", "nurse"), order=10),),
    routers=("ketacare.features.sessions.api:router", "ketacare.features.sessions.pages:router"),
    busy=("ketacare.features.sessions.api:router",),
    session_first_dose=("ketacare.features.sessions.queries:first_dose_sql",),
)
