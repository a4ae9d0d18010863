"""Rating scales and questionnaires: scoring, instrument commands and a clinic's licensed
item text (the admin's Licensed text page)."""

from ketacare.features.registry import Command, Feature, NavLink

M = "ketacare.features.instruments"
FEATURE = Feature(
    name="instruments",
    nav=(NavLink("Admin", "Licensed text", "/admin/instrument-texts", ("admin",), order=20),),
    routers=(f"{M}.pages:router",),
    commands={
        "score": Command(
            "Score one response (prints JSON) or a CSV file of responses.",
            f"{M}.score_cli:score",
            group=False,
        ),
        "instruments": Command("Rating scales and questionnaires.", f"{M}.cli:instruments_app"),
    },
)
