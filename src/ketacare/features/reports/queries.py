"""Small look-ups of the report pages (the cohort queries are in ``service.load_cohort``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketacare.features.clinics.models import Clinic


def clinic_name(db: Session, clinic_id: int | None) -> str:
    """The clinic's name ("" when there is none)."""
    clinic = db.get(Clinic, clinic_id) if clinic_id is not None else None
    return clinic.name if clinic is not None else ""
