"""Controlled-substance records: API, pages and the ``ketacare cs`` commands."""

from ketacare.features.registry import Command, Feature, NavLink

FEATURE = Feature(
    name="controlled",
    nav=(
        NavLink(
            "Compliance", "Controlled substances", "/cs", ("admin", "clinician", "nurse"), order=30
        ),
    ),
    routers=(
        "ketacare.features.controlled.api:router",
        "ketacare.features.controlled.pages:router",
    ),
    commands={
        "cs": Command(
            "Controlled-substance records (DEA Schedule III).",
            "ketacare.features.controlled.cli:cs_app",
        )
    },
    session_sign=("ketacare.features.controlled.charting:session_sign_check",),
    session_page=("ketacare.features.controlled.charting:session_page_context",),
)
