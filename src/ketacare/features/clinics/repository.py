"""Clinic queries."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.clinics.models import Clinic


def by_slug(db: Session, slug: str) -> Clinic | None:
    """The clinic with this slug, if any."""
    return db.execute(select(Clinic).where(Clinic.slug == slug)).scalar_one_or_none()


def get_or_create(db: Session, slug: str, name: str) -> Clinic:
    """The clinic with this slug, created (and flushed) when missing."""
    clinic = by_slug(db, slug)
    if clinic is None:
        clinic = Clinic(slug=slug, name=name)
        db.add(clinic)
        db.flush()
    return clinic
