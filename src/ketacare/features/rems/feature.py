"""REMS operations: setting registry, enrolment, prescriber on site, PMF documents."""

from ketacare.features.registry import Command, Feature

FEATURE = Feature(
    name="rems",
    routers=("ketacare.features.rems.api:router", "ketacare.features.rems.pages:router"),
    commands={
        "rems": Command(
            "SPRAVATO REMS: setting registry, enrolment, PMF dashboard and submission",
            "ketacare.features.rems.cli:app",
        )
    },
    session_open=("ketacare.features.rems.service:check_session_open",),
)
