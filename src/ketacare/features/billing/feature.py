"""Billing (issue 20): codes, superbills, 837P claims, prior authorisation, patient balance."""

from ketacare.features.registry import Command, Feature, Job

FEATURE = Feature(
    name="billing",
    routers=("ketacare.features.billing.api:router", "ketacare.features.billing.pages:router"),
    commands={
        "billing": Command(
            "Billing profile, payers, coverage and claim delivery.",
            "ketacare.features.billing.cli:billing_app",
        )
    },
    jobs=(Job("billing-deliver", "ketacare.features.billing.jobs:run"),),
)
