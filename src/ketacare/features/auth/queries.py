"""Read queries about accounts shared by the pages of several features (plain functions)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.auth.models import User


def user_emails(db: Session, ids: Iterable[int]) -> dict[int, str]:
    """User id -> e-mail for the given users (who acknowledged an alert, who loaded a text)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    rows = db.execute(select(User.id, User.email).where(User.id.in_(wanted))).all()
    return {int(uid): str(email) for uid, email in rows}
