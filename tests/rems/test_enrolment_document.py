"""The SPRAVATO REMS Patient Enrollment Form as a signed document (issue 19.2), on SQLite and
PostgreSQL: the patient signs (the consent machinery, document kind ``rems-enrolment``), the
prescriber countersigns, and only then is the patient enrolled, on the clinic's date of the
countersignature. The gate at its edges: signed by the patient only, still blocked; a nurse
cannot countersign; booked the day before the countersignature, still blocked. A stored PDF
whose bytes change fails verification; a withdrawal revokes the form as a new document."""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.course.booking import FloorRules, Kind
from ketacare.features._kit.errors import Forbidden
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from ketacare.features.consent import service as consent
from ketacare.features.consent.models import ConsentDocument
from ketacare.features.patients.models import Patient
from ketacare.features.rems import service as rems
from ketacare.features.rems import views
from ketacare.features.rems.models import RemsEnrolment
from ketacare.features.scheduling import service as scheduling
from ketacare.settings import Settings
from tests.conftest import make_user
from tests.consent.test_consent_api import signature_png
from tests.scheduling.support import MON, at, world
from tests.sessions.support import setup

RULES = FloorRules()
NOW = at(MON, 7) - timedelta(days=7)
GATE_ON = Settings(rems_gate_enforced=True)
SETTING = rems.SettingInput(
    name="Main",
    address="1 Clinic Way",
    certified=True,
    certified_on=MON - timedelta(days=30),
    certification_id="S-1",
    authorised_representative="Ada Rep",
    acquisition_route="distributor",
    pulse_oximeter=True,
)
PNG = base64.b64decode(signature_png())


def book(db: Session, patient: Patient, site_id: int, chair: int, day_offset: int = 0) -> None:
    scheduling.book_one(
        db, Actor.cli(patient.clinic_id), NOW, patient, site_id, Kind.esketamine, chair,
        at(MON, 9) + timedelta(days=day_offset), RULES, "UTC", settings=GATE_ON,
    )  # fmt: skip


def actors(db: Session, clinic_id: int) -> tuple[Actor, Actor]:
    clinic = db.get(Clinic, clinic_id)
    assert clinic is not None
    nurse = Actor.for_user(make_user(db, clinic, Role.nurse), "page")
    clinician = Actor.for_user(make_user(db, clinic, Role.clinician), "page")
    return nurse, clinician


def test_enrolled_only_once_the_prescriber_countersigns(db: Session) -> None:
    w = world(db)
    patient = db.get(Patient, w.patients[0])
    assert patient is not None
    pid = patient.id
    nurse, clinician = actors(db, w.clinic_id)
    rems.save_setting(db, Actor.cli(w.clinic_id), w.clinic_id, SETTING, NOW)
    # The patient signs on the clinic's tablet (the nurse witnesses).
    signed = rems.sign_enrolment(db, nurse, patient, "Pat Ient", True, PNG, NOW)
    assert signed.kind == "signed" and signed.signer_role == "patient"
    assert rems.enrolment_form(db, pid).state == "awaiting_prescriber"
    db.commit()
    # Edge: signed by the patient, not by the prescriber -> still blocked, with the reason.
    with pytest.raises(rems.RemsRefused) as refused:
        book(db, patient, w.site_id, w.chairs[0])
    assert [r.rule_id for r in refused.value.reasons] == ["rems.patient.enrolled"]
    assert "awaits the prescriber's countersignature" in refused.value.reason
    db.rollback()
    assert db.scalars(select(RemsEnrolment)).all() == []
    # The session gate says the same (the first esketamine session stays blocked).
    reasons, _ = rems.gate_reasons(db, w.clinic_id, pid, at(MON, 9), GATE_ON)
    assert [r.text for r in reasons if r.rule_id == "rems.patient.enrolled"] == [
        "The Patient Enrollment Form is signed by the patient and awaits the prescriber's "
        "countersignature."
    ]
    # The form is not a consent: it neither shows on the consent page nor passes as one.
    patient = db.get(Patient, pid)
    assert patient is not None
    assert all(s.template.key != rems.ENROLMENT_KEY for s in consent.states(db, patient))
    # A nurse is no prescriber.
    with pytest.raises(Forbidden):
        rems.countersign_enrolment(db, nurse, patient, signed.id, NOW)
    db.rollback()
    # The prescriber countersigns on the Tuesday: enrolled from that (clinic) date.
    later = at(MON, 6) + timedelta(days=1)
    row = rems.countersign_enrolment(db, clinician, patient, signed.id, later)
    db.commit()
    assert row.enrolled_on == later.date() and row.document_id is not None
    assert row.prescriber_name == clinician.label
    doc = db.get(ConsentDocument, row.document_id)
    assert doc is not None and doc.kind == "countersigned" and doc.supersedes_id == signed.id
    assert doc.signer_role == "prescriber"
    # Edge: a booking on the day before the countersignature date is still refused.
    patient = db.get(Patient, pid)
    assert patient is not None
    with pytest.raises(rems.RemsRefused) as refused:
        book(db, patient, w.site_id, w.chairs[0], 0)
    assert "enrolled from" in refused.value.reason
    db.rollback()
    # The session gate opens on the countersignature date, not before.
    reasons, _ = rems.gate_reasons(db, w.clinic_id, pid, at(MON, 9), GATE_ON)
    assert "rems.patient.enrolled" in [r.rule_id for r in reasons]
    reasons, _ = rems.gate_reasons(db, w.clinic_id, pid, later + timedelta(hours=3), GATE_ON)
    assert "rems.patient.enrolled" not in [r.rule_id for r in reasons]
    # On the countersignature date (and after) the booking goes through.
    patient = db.get(Patient, pid)
    assert patient is not None
    book(db, patient, w.site_id, w.chairs[0], 1)
    db.commit()
    # A second countersignature of the same form is a conflict (one successor per document).
    with pytest.raises(consent.Conflict):
        rems.countersign_enrolment(db, clinician, patient, signed.id, later)
    db.rollback()


def test_a_changed_pdf_fails_verification_and_withdrawal_revokes(db: Session) -> None:
    w = world(db)
    patient = db.get(Patient, w.patients[1])
    assert patient is not None
    nurse, clinician = actors(db, w.clinic_id)
    rems.save_setting(db, Actor.cli(w.clinic_id), w.clinic_id, SETTING, NOW)
    signed = rems.sign_enrolment(db, nurse, patient, "Pat Ient", True, PNG, NOW)
    row = rems.countersign_enrolment(db, clinician, patient, signed.id, NOW)
    db.commit()
    status = views.patient_status(db, clinician, patient, GATE_ON, NOW)
    assert status["enrolled"] and status["form_state"] == "countersigned"
    assert [d["verified"] for d in status["documents"]] == [True, True]
    # One byte of the stored countersigned PDF changes: verification fails.
    doc = db.get(ConsentDocument, row.document_id)
    assert doc is not None
    doc.pdf = doc.pdf[:-2] + bytes([doc.pdf[-2] ^ 1]) + doc.pdf[-1:]
    db.commit()
    assert consent.verify(db, clinician, doc) is False
    status = views.patient_status(db, clinician, patient, GATE_ON, NOW)
    assert [d["verified"] for d in status["documents"]] == [False, True]
    # Withdrawal: a new enrolment record and a revocation document; the signed ones stay.
    rems.withdraw(db, clinician, patient, "moved away", NOW + timedelta(days=1))
    db.commit()
    form = rems.enrolment_form(db, patient.id)
    assert form.state == "revoked" and len(form.documents) == 3
    with pytest.raises(rems.RemsRefused):
        book(db, patient, w.site_id, w.chairs[1], 2)
    db.rollback()
    # To enrol again the patient signs a new form.
    patient = db.get(Patient, w.patients[1])
    assert patient is not None
    again = rems.sign_enrolment(db, nurse, patient, "Pat Ient", True, PNG, NOW + timedelta(days=1))
    assert rems.enrolment_form(db, patient.id).state == "awaiting_prescriber"
    assert again.supersedes_id is None


def test_no_enrolment_by_hand_unless_the_clinic_allows_it(app: FastAPI, db: Session) -> None:
    """Default: the API does not enrol without the signed form (422 naming ``document``)."""
    w = setup(db)
    body = {"enrolled_on": "2025-03-03", "patient_signed": True, "prescriber_signed": True,
            "prescriber_name": "Dr Pia Prescriber"}  # fmt: skip
    with TestClient(app) as c:
        r = c.post(f"/api/v1/patients/{w['patient_id']}/rems-enrolment", json=body,
                   headers=w["clinician"])  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"][0]["field"] == "document"
    assert db.scalars(select(RemsEnrolment)).all() == []
    db.commit()
