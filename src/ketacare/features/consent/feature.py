"""Consent: versioned templates, tablet signing, countersignature, revocation."""

from ketacare.features.registry import Feature

FEATURE = Feature(
    name="consent",
    routers=("ketacare.features.consent.api:router", "ketacare.features.consent.pages:router"),
)
