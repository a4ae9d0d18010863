"""Clinical notes: nursing notes in a session, psychiatric evaluations and progress notes from
clinic templates; draft, signed, addenda (docs/notes.md)."""

from ketacare.features.registry import Command, Feature

FEATURE = Feature(
    name="notes",
    routers=("ketacare.features.notes.api:router", "ketacare.features.notes.pages:router"),
    commands={
        "notes": Command(
            "Clinical note templates: list, add a clinic's own (docs/notes.md)",
            "ketacare.features.notes.cli:app",
        )
    },
    session_page=("ketacare.features.notes.queries:session_page_context",),
    chart_panels=("ketacare.features.notes.queries:chart_panel",),
)
