"""Helpers for the portal tests: an app that mails through a real local SMTP server, a patient
with visits, scores, a due questionnaire and a consent to sign."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy.orm import Session

from ketacare.domain.course.booking import Kind
from ketacare.features.assessments.models import Source
from ketacare.features.assessments.service import store_assessment
from ketacare.features.auth.actor import Actor
from ketacare.features.consent import service as consent
from ketacare.features.outreach.service import new_link
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling import service as scheduling
from ketacare.features.scheduling.models import Booking
from ketacare.settings import Settings
from ketacare.web.app import create_app
from tests.assessments.support import SmtpServer, body_text
from tests.conftest import make_clinic

#: PHQ-9 answers: total 21 with item 9 = 1 (the crisis panel), and total 9 with item 9 = 0.
PHQ9_21 = [3, 3, 3, 3, 3, 2, 2, 1, 1]
PHQ9_9 = [1, 1, 1, 1, 1, 1, 1, 2, 0]
CONTACT = "Call 555 0100 (Mon-Fri 8-18) or write to care@clinic.example"


def smtp_app(settings: Settings, smtp: SmtpServer, **extra: Any) -> FastAPI:
    """The app, mailing through ``smtp`` (plain, loopback) with the clinic's contact text."""
    update = {
        "notifier": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "smtp_tls": "none",
        "smtp_from": "clinic@example.org",
        "clinic_contact": CONTACT,
    }
    return create_app(settings.model_copy(update=update | extra))


def link_path(smtp: SmtpServer, n: int = 1) -> str:
    """The path of the sign-in link in the ``n``-th mail received."""
    mail = smtp.wait(n)[n - 1]
    url = next(w for w in body_text(mail).split() if "/portal/link/" in w)
    return url[url.index("/portal/link/") :]


def make_patient(
    db: Session, clinic_id: int, email: str, given: str = "Robin", family: str = "Example"
) -> Patient:
    """A committed patient record."""
    patient = Patient(clinic_id=clinic_id, given_name=given, family_name=family, email=email)
    db.add(patient)
    db.commit()
    return patient


@dataclass
class Chart:
    """What the portal of the patient should show."""

    patient_id: int
    invitation_id: int


def fill_chart(db: Session, settings: Settings, patient: Patient, now: datetime) -> Chart:
    """Two PHQ-9 scores (21 then 9), an IV visit next week, a due PHQ-9 link and an IV
    consent the patient has not signed."""
    actor = Actor.cli(patient.clinic_id)
    for answers, days in ((PHQ9_21, 45), (PHQ9_9, 2)):
        store_assessment(db, patient, "phq9", answers, Source.clinician, actor,
                         completed_at=now - timedelta(days=days), now=now)  # fmt: skip
    site = scheduling.create_site(
        db, actor, patient.clinic_id, "Main Street", "mon-sun 00:00-23:59", True
    )
    chair = scheduling.add_chair(db, actor, site, "Chair 1")
    start = now + timedelta(days=7)
    db.add(
        Booking(
            clinic_id=patient.clinic_id,
            site_id=site.id,
            chair_id=chair.id,
            patient_id=patient.id,
            kind=Kind.iv,
            starts_at=start,
            ends_at=start + timedelta(hours=2),
        )
    )
    out = new_link(db, settings, patient, "phq9", now - timedelta(hours=1), now)
    assert out is not None
    data = consent.TemplateInput(
        "iv-ketamine", "Consent to IV ketamine", "What the treatment is.", consent.ATTESTATION, "iv"
    )
    consent.new_version(db, actor, patient.clinic_id, data, now, check_role=False)
    db.commit()
    return Chart(patient.id, out.invitation_id)


def clinic_id(db: Session) -> int:
    """The test clinic's id (committed)."""
    clinic = make_clinic(db)
    db.commit()
    return clinic.id


def due_link(db: Session, settings: Settings, patient: Patient, now: datetime) -> int:
    """A due GAD-7 link of ``patient``; its invitation id."""
    out = new_link(db, settings, patient, "gad7", now - timedelta(hours=1), now)
    assert out is not None
    db.commit()
    return out.invitation_id
