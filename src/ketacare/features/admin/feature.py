"""Admin pages (users, API tokens, clinic settings) and the letter to the referring clinician."""

from ketacare.features.registry import Feature, NavLink

FEATURE = Feature(
    name="admin",
    routers=("ketacare.features.admin.pages:router",),
    nav=(
        NavLink("Admin", "Users", "/admin/users", ("admin",), order=20),
        NavLink("Admin", "Clinic settings", "/admin/settings", ("admin",), order=30),
    ),
)
