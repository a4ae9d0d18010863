"""REMS operations: setting registry, enrolment, prescriber on site, PMF documents."""

from ketacare.features.registry import Command, Feature, NavLink

FEATURE = Feature(
    name="rems",
    nav=(NavLink("Compliance", "REMS", "/rems", ("admin", "clinician", "nurse"), order=10),),
    routers=("ketacare.features.rems.api:router", "ketacare.features.rems.pages:router"),
    commands={
        "rems": Command(
            "SPRAVATO REMS: setting registry, enrolment, PMF dashboard and submission",
            "ketacare.features.rems.cli:app",
        )
    },
    session_open=("ketacare.features.rems.service:check_session_open",),
    session_sign=("ketacare.features.rems.service:check_session_sign",),
)
