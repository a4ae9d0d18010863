"""The consent documents of patients as FHIR records (for the FHIR export)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.consent.models import ConsentDocument, ConsentTemplate
from ketacare.fhir.consent import ConsentDocRecord, consent_resources


def records(db: Session, patient_ids: Sequence[int]) -> list[ConsentDocRecord]:
    """The patients' consent documents, oldest first."""
    if not patient_ids:
        return []
    rows = db.execute(
        select(ConsentDocument, ConsentTemplate)
        .join(ConsentTemplate, ConsentTemplate.id == ConsentDocument.template_id)
        .where(ConsentDocument.patient_id.in_(patient_ids))
        .order_by(ConsentDocument.patient_id, ConsentDocument.id)
    ).all()
    superseded = {d.supersedes_id for d, _ in rows if d.supersedes_id is not None}
    return [
        ConsentDocRecord(
            id=d.id,
            patient_id=d.patient_id,
            template_key=t.key,
            template_version=t.version,
            title=t.title,
            kind=d.kind,
            signed_at=d.signed_at,
            sha256=d.pdf_sha256,
            superseded=d.id in superseded,
            awaiting_countersignature=t.countersign and d.kind == "signed",
        )
        for d, t in rows
    ]


def resources(db: Session, patient_ids: Sequence[int]) -> list[dict[str, Any]]:
    """DocumentReference and Consent resources of the patients' consents."""
    return consent_resources(records(db, patient_ids))
