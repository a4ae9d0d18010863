"""Rating scales and questionnaires: scoring and instrument commands."""

from ketacare.features.registry import Command, Feature

M = "ketacare.features.instruments"
FEATURE = Feature(
    name="instruments",
    commands={
        "score": Command(
            "Score one response (prints JSON) or a CSV file of responses.",
            f"{M}.score_cli:score",
            group=False,
        ),
        "instruments": Command("Rating scales and questionnaires.", f"{M}.cli:instruments_app"),
    },
)
