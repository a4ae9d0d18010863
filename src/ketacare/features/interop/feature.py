"""FHIR R4 API, FHIR import/export and the research export."""

from ketacare.features.registry import Command, Feature

M = "ketacare.features.interop"
FEATURE = Feature(
    name="interop",
    routers=(f"{M}.api:router",),
    commands={
        "research-export": Command(
            "Research CSV of a clinic's assessments or sessions (audited).",
            f"{M}.cli:research_export",
            group=False,
        ),
        "fhir": Command("FHIR R4 export and import.", f"{M}.cli:fhir_app"),
    },
)
