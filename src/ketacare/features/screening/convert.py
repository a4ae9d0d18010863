"""Convert a consultation request (lead) into a patient (issue 13.12).

The new-patient form comes prefilled from the lead; the lead and the patient are linked both
ways (``lead.patient_id``; the patient page lists the requests that became that patient),
the conversion is audited and written in the lead's contact history. A lead converts once:
the link is set by a conditional ``UPDATE ... WHERE patient_id IS NULL``, so two staff
converting at the same moment give one patient and one 409, on SQLite and PostgreSQL.

With the patient's consent recorded (``screening_consent``), the linked self-screen joins the
measurement record as assessments dated when it was taken (``assessments/carry.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from ketacare.features._kit.errors import KetacareError
from ketacare.features.assessments.carry import carry_self_screen
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.patients import service as patients
from ketacare.features.patients.models import Patient
from ketacare.features.screening.models import Lead
from ketacare.features.screening.service import add_note, get_lead
from ketacare.settings import OutcomeBaseline


class AlreadyConverted(KetacareError):
    """The request already became a patient."""

    status_code = 409


def prefill(lead: Lead) -> dict[str, str]:
    """New-patient form values from the lead (the last word of the name is the family name)."""
    parts = lead.name.split()
    given, family = (" ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else (lead.name, "")
    return {
        "given_name": given.strip(),
        "family_name": family.strip(),
        "email": lead.email,
        "phone": lead.phone,
        "sex": "unknown",
    }


@dataclass(frozen=True, slots=True)
class Converted:
    """The new patient, and how many self-screen scores joined the record."""

    patient: Patient
    carried: int


def convert_lead(
    db: Session,
    actor: Actor,
    lead_id: int,
    data: patients.PatientInput,
    screening_consent: bool,
    now: datetime,
    baseline_rule: OutcomeBaseline = "before_first_dose",
    confirm_duplicate: bool = False,
) -> Converted:
    """Create the patient from the lead, link both, audit; carry the self-screen if consented.

    Raises ``AlreadyConverted`` (409, naming the patient) and ``BadRequest`` (naming the
    field); nothing is stored then (the caller's transaction rolls back).
    """
    user = actor.user
    assert user is not None
    lead = get_lead(db, user.clinic_id, lead_id)
    if lead.patient_id is not None:
        raise AlreadyConverted(f"already converted to patient {lead.patient_id}", "lead")
    patient = patients.create_patient(db, user.clinic_id, data, confirm_duplicate)
    screening = lead.screening if screening_consent else None
    consent = screening is not None
    stmt = (
        update(Lead)
        .where(Lead.id == lead.id, Lead.patient_id.is_(None))
        .values(patient_id=patient.id, converted_at=now)
        .values(screening_consent_at=now if consent else None)
        .execution_options(synchronize_session=False)
    )
    linked = cast(CursorResult[Any], db.execute(stmt)).rowcount
    if linked != 1:  # another conversion won the race; the caller rolls ours back
        db.expire(lead)
        raise AlreadyConverted("was converted at the same time by someone else", "lead")
    db.expire(lead)
    body = f"Converted to patient {patient.id}"
    if consent:
        body += "; the patient consented to add the self-screen to the record"
    add_note(db, user, lead, body, "converted", now)
    record(db, actor, "create", "patient", patient.id, patient.id)
    record(db, actor, "convert", "lead", lead.id, patient.id)
    carried = 0
    if screening is not None:
        rows = carry_self_screen(
            db, patient, screening.id, screening.created_at, screening.phq9_answers,
            screening.phq9_difficulty, screening.gad7_answers, actor, baseline_rule,
        )  # fmt: skip
        record(db, actor, "link", "screening", screening.id, patient.id)
        carried = len(rows)
    return Converted(patient, carried)


def patient_links(db: Session, patient: Patient) -> list[tuple[str, str]]:
    """(href, label) of the requests that became this patient (the patient page shows them).

    Handed to the patients feature as ``app.state.patient_links`` (it cannot import this one).
    """
    rows = db.execute(
        select(Lead.id, Lead.created_at).where(
            Lead.patient_id == patient.id, Lead.clinic_id == patient.clinic_id
        )
    ).all()
    return [
        (f"/leads/{lead_id}", f"Consultation request of {created:%Y-%m-%d}")
        for lead_id, created in rows
    ]
