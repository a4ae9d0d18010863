"""Billing (issue 20): codes, superbills, 837P claims, prior authorisation, patient balance."""

from ketacare.features.registry import Command, Feature, Job, NavLink

FEATURE = Feature(
    name="billing",
    nav=(
        NavLink("Billing", "Billing", "/billing", ("billing", "admin", "clinician"), order=10),
        NavLink(
            "Billing", "Payers", "/billing/payers", ("billing", "admin", "clinician"), order=20
        ),
    ),
    routers=("ketacare.features.billing.api:router", "ketacare.features.billing.pages:router"),
    commands={
        "billing": Command(
            "Billing profile, payers, coverage and claim delivery.",
            "ketacare.features.billing.cli:billing_app",
        )
    },
    booking_flags=("ketacare.features.billing.service:booking_flags",),
    jobs=(Job("billing-deliver", "ketacare.features.billing.jobs:run"),),
)
