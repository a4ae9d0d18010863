"""The tamper-evident audit log: its pages and CLI."""

from ketacare.features.registry import Command, Feature

FEATURE = Feature(
    name="audit",
    routers=("ketacare.features.audit.pages:router",),
    commands={
        "audit": Command("The tamper-evident audit log.", "ketacare.features.audit.cli:audit_app")
    },
)
