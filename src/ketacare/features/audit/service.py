"""Record audit events in the caller's transaction (so the event commits with the change)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import User


def record(
    db: Session,
    actor: User | None,
    action: str,
    resource: str,
    resource_id: object = "",
    patient_id: int | None = None,
    outcome: str = "ok",
    channel: str = "page",
    client: str = "",
) -> None:
    """Append one event (``action``: read, create, update, export, ...)."""
    db.add(
        AuditEvent(
            clinic_id=actor.clinic_id if actor else None,
            actor_id=actor.id if actor else None,
            actor_email=actor.email if actor else "",
            action=action,
            resource=resource,
            resource_id=str(resource_id),
            patient_id=patient_id,
            outcome=outcome,
            channel=channel,
            client=client[:64],
        )
    )
