"""One-time links (portal sign-in, questionnaire links, password resets): spending one."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session


def spend_once(db: Session, model: Any, row_id: int, now: datetime) -> bool:
    """Mark row ``row_id`` of a one-time link ``model`` (columns ``id``, ``used_at``,
    ``expires_at``) used at ``now``, with one conditional UPDATE; False when it was used
    already or has expired, so two requests racing for the same link cannot both win."""
    result = db.execute(
        update(model)
        .where(model.id == row_id, model.used_at.is_(None), model.expires_at > now)
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    return getattr(result, "rowcount", 0) == 1
