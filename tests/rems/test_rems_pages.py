"""REMS pages (both databases): the admin registers the setting, the nurse attests the
prescriber in clinic time (New York), the clinician records the enrolment; the patient's page
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
from ketacare.features.rems.models import PrescriberAttestation
from ketacare.settings import Settings
from tests.conftest import login, make_user, scalar
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
    with TestClient(app, follow_redirects=False) as c:
        login(c, w["clinician_email"])
        r = post(c, f"/patients/{pid}/rems/enrolment", {"enrolled_on": "2025-03-03",
                                                       "patient_signed": "on",
                                                       "prescriber_name": "Dr P"})  # fmt: skip
        assert r.status_code == 422 and "prescriber_signed" in r.text
        r = post(c, f"/patients/{pid}/rems/enrolment", {"enrolled_on": "2025-03-03",
                                                       "patient_signed": "on",
                                                       "prescriber_signed": "on",
                                                       "prescriber_name": "Dr P"})  # fmt: skip
        assert r.status_code == 303
        text = c.get(f"/patients/{pid}/rems").text
        assert "An esketamine session may start now (Dr P on site)" in text
