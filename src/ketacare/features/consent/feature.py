"""Consent: versioned templates, tablet signing, countersignature, revocation."""

from ketacare.features.registry import Command, Feature

FEATURE = Feature(
    name="consent",
    routers=("ketacare.features.consent.api:router", "ketacare.features.consent.pages:router"),
    commands={
        "consent": Command(
            "Consent templates: add the examples (docs/consent.md)",
            "ketacare.features.consent.cli:app",
        )
    },
)
