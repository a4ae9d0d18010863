"""Registration of the home feature (see features/registry.py)."""

from ketacare.features.registry import Feature, NavLink

FEATURE = Feature(
    name="home",
    routers=("ketacare.features.home.pages:router",),
    nav=(NavLink("Today", "Home", "/home", ("admin", "clinician", "nurse", "frontdesk"), order=0),),
)
