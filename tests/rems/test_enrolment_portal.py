"""The REMS enrolment form signed remotely in the patient portal (issue 19.2, signing by link):
a patient with an esketamine booking sees the Patient Enrollment Form among the documents to
sign, signs it on their own device, and is enrolled only once the prescriber countersigns."""

from __future__ import annotations

import base64
import io
from datetime import timedelta

from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.domain.course.booking import Kind
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from ketacare.features.consent.models import ConsentDocument, ConsentTemplate
from ketacare.features.patients.models import Patient
from ketacare.features.rems import service as rems
from ketacare.features.scheduling import service as scheduling
from ketacare.features.scheduling.models import Booking
from ketacare.settings import Settings
from tests.assessments.support import smtp_server
from tests.conftest import make_user
from tests.portal.support import clinic_id, link_path, make_patient, smtp_app
from tests.portal.test_portal import ask, follow


def test_patient_signs_the_enrolment_form_in_the_portal(db: Session, settings: Settings) -> None:
    now = utcnow()
    cid = clinic_id(db)
    patient = make_patient(db, cid, "robin@example.org")
    pid = patient.id
    actor = Actor.cli(cid)
    site = scheduling.create_site(db, actor, cid, "Main Street", "mon-sun 00:00-23:59", True)
    chair = scheduling.add_chair(db, actor, site, "Chair 1")
    start = now + timedelta(days=7)
    end = start + timedelta(hours=2)
    db.add(Booking(clinic_id=cid, site_id=site.id, chair_id=chair.id, patient_id=pid,
                   kind=Kind.esketamine, starts_at=start, ends_at=end))  # fmt: skip
    db.commit()
    png = io.BytesIO()
    Image.new("RGB", (60, 20), "white").save(png, format="PNG")
    drawn = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    with smtp_server() as smtp, TestClient(smtp_app(settings, smtp), follow_redirects=False) as c:
        ask(c, "robin@example.org")
        assert follow(c, link_path(smtp)) == 303
        page = c.get("/me").text
        assert "SPRAVATO REMS Patient Enrollment Form" in page
        template_id = db.scalars(
            select(ConsentTemplate.id).where(ConsentTemplate.document_kind == "rems-enrolment")
        ).one()
        db.commit()
        assert f'href="/me/consent/{template_id}"' in page
        form = c.get(f"/me/consent/{template_id}")
        assert form.status_code == 200 and "Patient acknowledgements" in form.text
        token = c.cookies.get("kc_csrf") or ""
        data = {"csrf_token": token, "typed_name": "Robin Example", "signature": drawn}
        r = c.post(f"/me/consent/{template_id}", data=data)
        assert r.status_code == 422 and "attested" in r.text
        r = c.post(f"/me/consent/{template_id}", data=data | {"attested": "on"})
        assert r.status_code == 303
        assert "SPRAVATO REMS Patient Enrollment Form" not in c.get("/me").text
    doc = db.scalars(select(ConsentDocument)).one()
    assert doc.kind == "signed" and doc.signer_role == "patient" and doc.patient_id == pid
    assert rems.enrolment_form(db, pid).state == "awaiting_prescriber"
    clinic = db.get(Clinic, cid)
    assert clinic is not None
    clinician = Actor.for_user(make_user(db, clinic, Role.clinician), "page")
    again = db.get(Patient, pid)
    assert again is not None
    row = rems.countersign_enrolment(db, clinician, again, doc.id, now)
    db.commit()
    assert row.kind == "enrolled" and row.document_id is not None
