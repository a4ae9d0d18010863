"""Consent: versioned templates, tablet signing, countersignature, revocation."""

from ketacare.features.registry import Command, Feature, NavLink

FEATURE = Feature(
    name="consent",
    nav=(NavLink("Compliance", "Consent", "/consent", ("admin", "clinician", "nurse"), order=20),),
    routers=("ketacare.features.consent.api:router", "ketacare.features.consent.pages:router"),
    commands={
        "consent": Command(
            "Consent templates: add the examples (docs/consent.md)",
            "ketacare.features.consent.cli:app",
        )
    },
    session_open=("ketacare.features.consent.service:session_open_check",),
)
