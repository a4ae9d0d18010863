"""Queries of the audit log pages, and the patient columns the audit reads.

The audit feature sits below ``patients`` (every feature, patients included, records events),
so it must not import the patients package: it reads the two or five columns it needs through
a lightweight ``table()`` clause of the same table (tests/test_migrations.py keeps the schema
and the models in step).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Integer, String, column, func, or_, select, table
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent

#: The ``patient`` table's columns the audit log uses (owned by features/patients).
PATIENT = table(
    "patient",
    column("id", Integer),
    column("clinic_id", Integer),
    column("given_name", String),
    column("family_name", String),
    column("mrn", String),
)


def patient_clinics(db: Session, patient_ids: Sequence[int]) -> dict[int, int]:
    """The clinic of each of these patients (ids of unknown patients are left out)."""
    found = db.execute(
        select(PATIENT.c.id, PATIENT.c.clinic_id).where(PATIENT.c.id.in_(patient_ids))
    ).all()
    return {int(pid): int(cid) for pid, cid in found}


def patients_named(db: Session, clinic_id: int, text: str, limit: int = 100) -> list[int]:
    """Ids of the clinic's patients whose given or family name, full name or record number
    contains ``text`` (any case; ``%`` and ``_`` are taken literally by dropping them)."""
    like = f"%{text.lower().replace('%', '').replace('_', '')}%"
    p = PATIENT.c
    stmt = (
        select(p.id)
        .where(
            p.clinic_id == clinic_id,
            or_(
                func.lower(p.family_name).like(like),
                func.lower(p.given_name).like(like),
                func.lower(p.given_name + " " + p.family_name).like(like),
                func.lower(p.mrn).like(like),
            ),
        )
        .order_by(p.id)
        .limit(limit)
    )
    return [int(x) for x in db.execute(stmt).scalars()]


def clinic_events(
    db: Session,
    clinic_id: int,
    patient_ids: Sequence[int] | None,
    actor_email: str,
    limit: int,
) -> list[AuditEvent]:
    """The clinic's newest events first: about any of ``patient_ids`` (as the patient or
    among the patients disclosed; the first 50 ids for the latter), by ``actor_email``."""
    stmt = select(AuditEvent).where(AuditEvent.clinic_id == clinic_id)
    if patient_ids is not None:
        stmt = stmt.where(
            or_(
                AuditEvent.patient_id.in_(patient_ids),
                *(AuditEvent.patients.contains(f",{i},") for i in patient_ids[:50]),
            )
        )
    if actor_email:
        stmt = stmt.where(AuditEvent.actor_email == actor_email)
    return list(db.execute(stmt.order_by(AuditEvent.seq.desc()).limit(limit)).scalars())
