"""Statements of the admin pages and the letter."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ketacare.features._kit.links import spend_once
from ketacare.features.admin.models import PasswordReset
from ketacare.features.assessments.models import Assessment
from ketacare.features.auth.models import User


def clinic_users(db: Session, clinic_id: int) -> list[User]:
    """The clinic's accounts, active first, then by email."""
    stmt = (
        select(User).where(User.clinic_id == clinic_id).order_by(User.is_active.desc(), User.email)
    )
    return list(db.execute(stmt).scalars())


def user_in_clinic(db: Session, clinic_id: int, user_id: int) -> User | None:
    """One account of the clinic (None for another clinic's or an unknown id)."""
    stmt = select(User).where(User.id == user_id, User.clinic_id == clinic_id)
    return db.execute(stmt).scalar_one_or_none()


def latest_scores(db: Session, patient_id: int) -> list[Assessment]:
    """The patient's latest scored assessment of each instrument (instrument order)."""
    newest = (
        select(Assessment.instrument_id, func.max(Assessment.completed_at).label("at"))
        .where(Assessment.patient_id == patient_id, Assessment.total.is_not(None))
        .group_by(Assessment.instrument_id)
        .subquery()
    )
    stmt = (
        select(Assessment)
        .join(
            newest,
            (newest.c.instrument_id == Assessment.instrument_id)
            & (newest.c.at == Assessment.completed_at),
        )
        .where(Assessment.patient_id == patient_id, Assessment.total.is_not(None))
        .order_by(Assessment.instrument_id, Assessment.id.desc())
    )
    seen: dict[str, Assessment] = {}
    for row in db.execute(stmt).scalars():
        seen.setdefault(row.instrument_id, row)
    return list(seen.values())


def first_scores(
    db: Session, patient_id: int, instrument_ids: list[str]
) -> dict[str, tuple[int, int]]:
    """The patient's earliest scored assessment of each instrument: ``(id, total)`` (the
    change the letter reports is from it)."""
    if not instrument_ids:
        return {}
    earliest = (
        select(Assessment.instrument_id, func.min(Assessment.completed_at).label("at"))
        .where(
            Assessment.patient_id == patient_id,
            Assessment.total.is_not(None),
            Assessment.instrument_id.in_(instrument_ids),
        )
        .group_by(Assessment.instrument_id)
        .subquery()
    )
    stmt = (
        select(Assessment.instrument_id, Assessment.id, Assessment.total)
        .join(
            earliest,
            (earliest.c.instrument_id == Assessment.instrument_id)
            & (earliest.c.at == Assessment.completed_at),
        )
        .where(Assessment.patient_id == patient_id)
        .order_by(Assessment.id)
    )
    found: dict[str, tuple[int, int]] = {}
    for iid, row_id, total in db.execute(stmt).all():
        if total is not None:
            found.setdefault(iid, (int(row_id), int(total)))
    return found


def reset_by_hash(db: Session, token_hash: str) -> PasswordReset | None:
    """The password reset link with this token hash."""
    stmt = select(PasswordReset).where(PasswordReset.token_hash == token_hash)
    return db.execute(stmt).scalar_one_or_none()


def claim_reset(db: Session, reset_id: int, now: datetime) -> bool:
    """Mark a reset link used, once (a conditional UPDATE: a second use finds it used)."""
    return spend_once(db, PasswordReset, reset_id, now)


def spend_other_resets(db: Session, user_id: int, now: datetime) -> None:
    """Mark the account's other unused reset links used (a new password retires them all)."""
    db.execute(
        update(PasswordReset)
        .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
