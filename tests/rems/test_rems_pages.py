"""REMS pages (both databases): the admin registers the setting, the nurse attests the
prescriber in clinic time (New York), the patient signs the enrolment form on the tablet and
the prescriber countersigns; the patient's page
shows the gate's reasons until everything is in place; bad input comes back in the form."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from ketacare.features.consent.models import ConsentDocument
from ketacare.features.rems.models import PrescriberAttestation
from ketacare.settings import Settings
from tests.conftest import login, make_user, scalar
from tests.consent.test_consent_api import signature_png
from tests.sessions.support import T0, install_clock, setup


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"rems_gate_enforced": True})


def post(client: TestClient, url: str, data: dict[str, str]) -> Any:
    token = client.cookies.get("kc_csrf") or ""
    return client.post(url, data={"csrf_token": token, **data})


def test_registry_attestation_and_enrolment_through_the_pages(
    app: FastAPI, db: Session, settings: Settings
) -> None:
    w = setup(db)
    clinic = db.get(Clinic, w["clinic_id"])
    assert clinic is not None
    clinic.timezone = "America/New_York"
    admin = make_user(db, w["clinic"], Role.admin)
    admin_email = admin.email
    db.commit()
    install_clock(app)  # 2025-03-03 09:00 UTC = 04:00 EST
    pid = w["patient_id"]
    with TestClient(app, follow_redirects=False) as c:
        login(c, w["nurse_email"])
        page = c.get(f"/patients/{pid}/rems")
        assert page.status_code == 200
        for rule in ("rems.setting.registered", "rems.patient.enrolled", "rems.prescriber.on_site"):
            assert rule in page.text
        # The nurse may not change the registry; the attestation is typed in clinic time.
        r = post(c, "/rems/setting", {"name": "X"})
        assert r.status_code == 403
        r = post(c, "/rems/attestations", {"prescriber_name": "Dr P",
                                          "starts_at": "2025-03-03T03:30",
                                          "ends_at": "2025-03-03T02:00"})  # fmt: skip
        assert r.status_code == 422 and "ends_at" in r.text
        r = post(c, "/rems/attestations", {"prescriber_name": "Dr P",
                                          "starts_at": "2025-03-03T03:30",
                                          "ends_at": "2025-03-03T12:00"})  # fmt: skip
        assert r.status_code == 303
        starts = scalar(db, select(PrescriberAttestation.starts_at))
        assert starts == T0.replace(hour=8, minute=30)  # 03:30 EST
    with TestClient(app, follow_redirects=False) as c:
        login(c, admin_email)
        r = post(c, "/rems/setting", {"name": "Main St", "certified": "on",
                                      "certified_on": "2025-03-0x"})  # fmt: skip
        assert r.status_code == 422 and "certified_on" in r.text
        r = post(c, "/rems/setting", {"name": "Main St", "certified": "on",
                                      "certified_on": "2025-03-03",
                                      "authorised_representative": "Ada Rep",
                                      "acquisition_route": "pharmacy",
                                      "pulse_oximeter": "on"})  # fmt: skip
        assert r.status_code == 303
        assert "Main St" in c.get("/rems").text
    sig = "data:image/png;base64," + signature_png()
    form = f"/patients/{pid}/rems/enrolment-form"
    with TestClient(app, follow_redirects=False) as c:
        login(c, w["nurse_email"])
        # The tablet page; a form without a drawn signature comes back naming the field.
        assert "Patient Enrollment Form" in c.get(form).text
        r = post(c, form, {"typed_name": "Pat Ient", "attested": "on", "signature": ""})
        assert r.status_code == 422 and "signature" in r.text
        r = post(c, form, {"typed_name": "Pat Ient", "signature": sig})
        assert r.status_code == 422 and "attested" in r.text
        r = post(c, form, {"typed_name": "Pat Ient", "attested": "on", "signature": sig})
        assert r.status_code == 303
        text = c.get(f"/patients/{pid}/rems").text
        assert "awaits the prescriber&#39;s countersignature" in text
        assert "Not enrolled." in text and "rems.patient.enrolled" in text
        doc_id = scalar(db, select(ConsentDocument.id))
        # A nurse is no prescriber: the countersignature is refused.
        r = post(c, f"{form}/{doc_id}/countersign", {})
        assert r.status_code == 403
        # A second signature while one awaits the prescriber is a conflict.
        r = post(c, form, {"typed_name": "Pat Ient", "attested": "on", "signature": sig})
        assert r.status_code == 409
    with TestClient(app, follow_redirects=False) as c:
        login(c, w["clinician_email"])
        r = post(c, f"{form}/{doc_id}/countersign", {})
        assert r.status_code == 303
        text = c.get(f"/patients/{pid}/rems").text
        assert "An esketamine session may start now (Dr P on site)" in text
        # Enrolled on the clinic's date of the countersignature (04:00 EST on 2025-03-03).
        assert "Enrolled from 2025-03-03." in text
        assert text.count("matches the stored hash") == 2
        pdf = c.get(f"{form}/{doc_id}.pdf")
        assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
        # The enrolment form is not a consent: the consent routes do not serve it.
        assert c.get(f"/consent-documents/{doc_id}.pdf").status_code == 404
