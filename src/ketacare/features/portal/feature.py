"""The patient portal: e-mailed sign-in links and the patient's own page."""

from ketacare.features.registry import Feature, NavLink

M = "ketacare.features.portal"
FEATURE = Feature(
    name="portal",
    nav=(NavLink("Patients", "Your page", "/me", ("patient",), order=10),),
    routers=(f"{M}.pages:router",),
)
