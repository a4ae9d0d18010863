"""The tamper-evident audit log: its pages and CLI."""

from ketacare.features.registry import Command, Feature, NavLink

FEATURE = Feature(
    name="audit",
    nav=(NavLink("Admin", "Audit log", "/admin/audit", ("admin",), order=10),),
    routers=("ketacare.features.audit.pages:router",),
    commands={
        "audit": Command("The tamper-evident audit log.", "ketacare.features.audit.cli:audit_app")
    },
)
