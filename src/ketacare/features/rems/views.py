"""Shared by the REMS API and pages: role checks and plain dictionaries of the records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from ketacare.features._kit.errors import Forbidden
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.consent import service as consent
from ketacare.features.patients.models import Patient
from ketacare.features.rems import queries, service
from ketacare.features.rems.models import PmfSubmission, RemsEnrolment, RemsSetting
from ketacare.settings import Settings

ADMIN = frozenset({Role.admin})
CARE_TEAM = frozenset({Role.clinician, Role.nurse})
ENROLERS = frozenset({Role.clinician, Role.admin})
STAFF = frozenset({Role.clinician, Role.nurse, Role.admin})
_NAMES = {
    STAFF: "staff",
    ADMIN: "an admin",
    CARE_TEAM: "a nurse or a clinician",
    ENROLERS: "a clinician or an admin",
}


def require(actor: Actor, roles: frozenset[Role]) -> None:
    """Refuse (403) a role not in ``roles`` (docs/roles.md, docs/rems.md)."""
    role = actor.user.role if actor.user is not None else None
    if role not in roles:
        raise Forbidden(f"only {_NAMES.get(roles, 'another role')} may do this")


def setting_dict(row: RemsSetting | None) -> dict[str, Any] | None:
    """The registry row as JSON."""
    if row is None:
        return None
    return {
        "name": row.name,
        "address": row.address,
        "setting_type": row.setting_type,
        "certified": row.certified,
        "certified_on": row.certified_on.isoformat() if row.certified_on else None,
        "certification_id": row.certification_id,
        "authorised_representative": row.authorised_representative,
        "acquisition_route": row.acquisition_route,
        "pulse_oximeter": row.pulse_oximeter,
        "updated_at": row.updated_at.isoformat(),
        "updated_by": row.updated_by,
    }


def enrolment_dict(row: RemsEnrolment) -> dict[str, Any]:
    """One enrolment record as JSON."""
    return {
        "id": row.id,
        "kind": row.kind,
        "enrolled_on": row.enrolled_on.isoformat() if row.enrolled_on else None,
        "patient_signed": row.patient_signed,
        "prescriber_signed": row.prescriber_signed,
        "prescriber_name": row.prescriber_name,
        "rems_patient_id": row.rems_patient_id,
        "note": row.note,
        "document_id": row.document_id,
        "recorded_by": row.recorded_by,
        "recorded_at": row.recorded_at.isoformat(),
    }


def patient_status(
    db: Session, actor: Actor, patient: Patient, settings: Settings, now: datetime
) -> dict[str, Any]:
    """The patient's enrolment history and what the gate says for a session now (audited)."""
    record(db, actor, "read", "rems_enrolment", patient.id, patient_id=patient.id)
    history = queries.enrolment_history(db, patient.id)
    reasons, present = service.gate_reasons(db, patient.clinic_id, patient.id, now, settings)
    current = history[-1] if history else None
    form = service.enrolment_form(db, patient.id)
    return {
        "patient_id": patient.id,
        "enrolled": current is not None and current.kind == "enrolled",
        "enrolled_on": (
            current.enrolled_on.isoformat()
            if current is not None and current.kind == "enrolled" and current.enrolled_on
            else None
        ),
        "form_state": form.state,
        "form_head_id": form.head.id if form.head is not None else None,
        "documents": [
            {
                "id": d.id,
                "kind": d.kind,
                "template_version": t.version,
                "signer_name": d.signer_name,
                "signer_role": d.signer_role,
                "signed_at": d.signed_at,
                "pdf_sha256": d.pdf_sha256,
                # Every verification is audited (a read of a signed document).
                "verified": consent.verify(db, actor, d),
            }
            for d, t in form.documents
        ],
        "history": [enrolment_dict(r) for r in history],
        "prescriber_on_site": present.name if present else None,
        "esketamine_session_allowed": not reasons,
        "reasons": [r.to_dict() for r in reasons],
    }


def submission_dict(row: PmfSubmission) -> dict[str, Any]:
    """A PMF submission as JSON (with whether the stored PDF still matches its hash)."""
    return {
        "session_id": row.session_id,
        "revision": row.revision,
        "channel": row.channel,
        "confirmation": row.confirmation,
        "pdf_sha256": row.pdf_sha256,
        "verified": service.verify_submission(row),
        "submitted_by": row.submitted_by,
        "submitted_at": row.submitted_at.isoformat(),
    }
