"""Queries of the REMS feature (plain functions; the caller owns the transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.patients.models import Patient
from ketacare.features.rems.models import (
    PmfSubmission,
    PrescriberAttestation,
    RemsEnrolment,
    RemsSessionCover,
    RemsSetting,
)
from ketacare.features.sessions.models import RemsForm, TreatmentSession


def setting_of(db: Session, clinic_id: int) -> RemsSetting | None:
    """The clinic's registered REMS setting, if any."""
    return db.execute(
        select(RemsSetting).where(RemsSetting.clinic_id == clinic_id)
    ).scalar_one_or_none()


def enrolment_of(db: Session, patient_id: int) -> RemsEnrolment | None:
    """The patient's newest enrolment record (its status), if any."""
    return db.execute(
        select(RemsEnrolment)
        .where(RemsEnrolment.patient_id == patient_id)
        .order_by(RemsEnrolment.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def enrolment_history(db: Session, patient_id: int) -> list[RemsEnrolment]:
    """Every enrolment record of the patient, oldest first."""
    return list(
        db.execute(
            select(RemsEnrolment)
            .where(RemsEnrolment.patient_id == patient_id)
            .order_by(RemsEnrolment.id)
        ).scalars()
    )


def attestation_at(db: Session, clinic_id: int, at: datetime) -> PrescriberAttestation | None:
    """The newest prescriber attestation of the clinic covering the instant ``at``."""
    return db.execute(
        select(PrescriberAttestation)
        .where(
            PrescriberAttestation.clinic_id == clinic_id,
            PrescriberAttestation.starts_at <= at,
            PrescriberAttestation.ends_at > at,
        )
        .order_by(PrescriberAttestation.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def attestations_between(
    db: Session, clinic_id: int, start: datetime, end: datetime
) -> list[PrescriberAttestation]:
    """The clinic's attestations overlapping ``[start, end)``."""
    return list(
        db.execute(
            select(PrescriberAttestation).where(
                PrescriberAttestation.clinic_id == clinic_id,
                PrescriberAttestation.starts_at < end,
                PrescriberAttestation.ends_at > start,
            )
        ).scalars()
    )


def attestations(db: Session, clinic_id: int, since: datetime) -> list[PrescriberAttestation]:
    """The clinic's attestations that end after ``since``, newest first."""
    return list(
        db.execute(
            select(PrescriberAttestation)
            .where(
                PrescriberAttestation.clinic_id == clinic_id,
                PrescriberAttestation.ends_at > since,
            )
            .order_by(PrescriberAttestation.starts_at.desc())
            .limit(50)
        ).scalars()
    )


def cover_of(db: Session, session_id: int) -> RemsSessionCover | None:
    """The prescriber and setting recorded when the session opened."""
    return db.execute(
        select(RemsSessionCover).where(RemsSessionCover.session_id == session_id)
    ).scalar_one_or_none()


def submission_of(db: Session, session_id: int) -> PmfSubmission | None:
    """The session's PMF submission, if any."""
    return db.execute(
        select(PmfSubmission).where(PmfSubmission.session_id == session_id)
    ).scalar_one_or_none()


def dosed_forms(
    db: Session, clinic_id: int
) -> list[tuple[RemsForm, TreatmentSession, Patient, PmfSubmission | None]]:
    """Every PMF of a dosed esketamine session of the clinic with its submission, newest first."""
    rows = db.execute(
        select(RemsForm, TreatmentSession, Patient, PmfSubmission)
        .join(TreatmentSession, TreatmentSession.id == RemsForm.session_id)
        .join(Patient, Patient.id == TreatmentSession.patient_id)
        .outerjoin(PmfSubmission, PmfSubmission.session_id == RemsForm.session_id)
        .where(RemsForm.clinic_id == clinic_id, TreatmentSession.dose_start.is_not(None))
        .order_by(TreatmentSession.dose_start.desc(), RemsForm.id.desc())
        .limit(2000)
    ).all()
    return [(f, s, p, sub) for f, s, p, sub in rows]
