"""Intake, eligibility, protocols and dosing."""

from ketacare.features.registry import Command, Feature

M = "ketacare.features.intake"
FEATURE = Feature(
    name="intake",
    routers=(f"{M}.api:router", f"{M}.pages:router"),
    commands={
        "dose": Command(
            "Compute a dose (and infusion rate) for a protocol.", f"{M}.cli:dose", group=False
        ),
        "schedule": Command(
            "Plan a course calendar from a protocol and a start date.",
            f"{M}.cli:schedule",
            group=False,
        ),
        "eligibility": Command(
            "DSM-5, TRD staging, eligibility and care pathway for an intake file.",
            f"{M}.cli:eligibility",
            group=False,
        ),
    },
)
