"""In real headless Chromium on a tablet-sized page (JavaScript on, strict CSP): a patient signs
the esketamine consent with a drawn signature, the prescriber countersigns, the first session
unblocks, the nurse charts it, and the PMF lists the signed session's fields and is marked
submitted with a confirmation number (issue 19)."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import ConsoleMessage, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.consent import service as consent
from ketacare.features.consent.models import ConsentDocument
from ketacare.features.patients.models import Patient
from ketacare.features.rems import service as rems
from ketacare.settings import Settings
from tests.browser import live_server, require_chromium, shared_chromium, sign_in
from tests.conftest import make_user
from tests.sessions.support import CADSS6_ZERO, CHECKLIST_OK, T0, install_clock, setup
from tests.sessions.test_sessions_api import REMS_TYPED

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The REMS gate and the consent requirement on."""
    return settings.model_copy(update={"rems_gate_enforced": True, "consent_required": True})


def test_tablet_consent_unblocks_the_first_session_and_the_pmf_is_submitted(
    app: FastAPI, db: Session, tmp_path: Path
) -> None:
    require_chromium()
    w = setup(db)
    clock = install_clock(app)
    admin = make_user(db, w["clinic"], Role.admin)
    a = Actor.for_user(admin, "page")
    clinic_id = w["clinic_id"]
    rems.save_setting(
        db, a, clinic_id,
        rems.SettingInput("Main St", "1 Clinic Way", "outpatient", True, T0.date(), "S-1",
                          "Ada Rep", "distributor", True),
        T0,
    )  # fmt: skip
    patient = db.get(Patient, w["patient_id"])
    assert patient is not None
    clinician = Actor.for_user(w["clinician_user"], "page")
    rems.enrol(db, clinician, patient,
               rems.EnrolmentInput(T0.date(), True, True, "Dr Pia Prescriber"), T0)  # fmt: skip
    rems.attest_prescriber(
        db, clinician, clinic_id, "Dr Pia Prescriber", T0, T0 + timedelta(hours=8), T0
    )
    consent.seed_examples(db, a, clinic_id, T0)
    db.commit()
    csp_errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if "Content Security Policy" in msg.text or "Refused to" in msg.text:
            csp_errors.append(msg.text)

    with live_server(app) as base, shared_chromium() as browser:
        tablet = browser.new_context(viewport={"width": 768, "height": 1024}, has_touch=True)
        page = tablet.new_page()
        page.on("console", on_console)
        sign_in(page, base, w["nurse_email"], None)
        # Without consent the session is refused, with the reason.
        page.goto(f"{base}/patients/{w['patient_id']}/sessions")
        page.fill("#lot", "LOT-9")
        page.click("#start")
        expect(page.locator("#form-errors")).to_contain_text("Consent to esketamine")
        # The patient signs on the tablet.
        page.goto(f"{base}/patients/{w['patient_id']}/consent")
        page.click("#sign-esketamine")
        expect(page.locator("h1")).to_contain_text("esketamine")
        # The box is the vendored signature_pad component (static/vendor/), not hand-drawn.
        # Its scripts are deferred: the heading can be there before they have run (CI once).
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.SignaturePad") == "function"
        page.check("#attested")
        page.fill("#typed_name", "Pat Ient")
        page.click("#sign")  # nothing drawn yet: the page asks for a signature
        expect(page.locator("#signature-status")).to_contain_text("sign in the box")
        box = page.locator("#signature-pad").bounding_box()
        assert box is not None
        page.mouse.move(box["x"] + 20, box["y"] + box["height"] - 30)
        page.mouse.down()
        for i in range(1, 12):
            page.mouse.move(box["x"] + 20 + i * 30, box["y"] + 40 + (i % 3) * 30, steps=3)
        page.mouse.up()
        expect(page.locator("#signature-status")).to_contain_text("captured")
        page.click("#sign")
        row = page.locator('#consent-states tr[data-key="esketamine"]')
        expect(row.locator(".consent-state")).to_contain_text("awaiting countersignature")

        # The prescriber countersigns on their own device.
        desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        desk.on("console", on_console)
        sign_in(desk, base, w["clinician_email"], f"/patients/{w['patient_id']}/consent")
        desk.click("#countersign-esketamine")
        expect(
            desk.locator('#consent-states tr[data-key="esketamine"] .consent-state')
        ).to_contain_text("valid")

        # The first session unblocks.
        page.goto(f"{base}/patients/{w['patient_id']}/sessions")
        page.fill("#lot", "LOT-9")
        page.click("#start")
        expect(page.locator("h1")).to_contain_text("Session #")
        sid = int(page.url.rsplit("/", 1)[1])

        # The nurse charts it (through the API, with the clock moved) and signs it.
        api = TestClient(app)
        api.headers.update(w["nurse"])
        s = f"/api/v1/sessions/{sid}"
        assert api.put(f"{s}/checklist", json=CHECKLIST_OK).status_code == 200
        for instrument, extra in (("moaas", {"answers": {"1": 5}}), ("cadss6", CADSS6_ZERO)):
            body = {"instrument": instrument, "timepoint": "pre_dose", **extra}
            assert api.post(f"{s}/scales", json=body).status_code == 201
        assert api.post(f"{s}/dose", json={"given_dose_mg": 56}).status_code == 200
        clock.set(minutes=40)
        api.post(f"{s}/vitals", json={"systolic": 138, "diastolic": 86, "spo2": 97})
        clock.set(minutes=110)
        api.post(f"{s}/vitals", json={"systolic": 131, "diastolic": 81, "spo2": 98})
        for instrument, extra in (("moaas", {"answers": {"1": 5}}), ("cadss6", CADSS6_ZERO)):
            body = {"instrument": instrument, "timepoint": "discharge", **extra}
            assert api.post(f"{s}/scales", json=body).status_code == 201
        r = api.post(f"{s}/discharge-approval", headers=w["clinician"])
        assert r.status_code == 200, r.text
        clock.set(minutes=125)
        assert api.post(f"{s}/discharge").status_code == 200
        assert api.put(f"{s}/rems", json={"fields": REMS_TYPED}).status_code == 200
        assert api.post(f"{s}/sign").json()["session"]["status"] == "signed"

        # The PMF lists the signed session's fields; the nurse marks it submitted.
        pdf = api.get(f"/api/v1/sessions/{sid}/pmf.pdf").content
        (tmp_path / "pmf.pdf").write_bytes(pdf)
        text = subprocess.run(
            ["pdftotext", "-layout", str(tmp_path / "pmf.pdf"), "-"],
            check=True, capture_output=True, text=True,
        ).stdout  # fmt: skip
        for value in ("LOT-9", "56 mg", "131/81", "138/86", "Dr Pia Prescriber", "Main St"):
            assert value in text, value
        page.goto(f"{base}/rems")
        expect(page.locator("#pmf-counts")).to_contain_text("1 due")
        page.fill(f"#confirmation-{sid}", "REMS-778899")
        page.click(f"#pmf-forms tr:has(a[href='/sessions/{sid}']) button")
        expect(page.locator("#pmf-forms .pmf-status").first).to_contain_text(
            "submitted (REMS-778899)"
        )
        api.close()
    assert csp_errors == []
    docs = list(db.execute(select(ConsentDocument.kind).order_by(ConsentDocument.id)).scalars())
    db.commit()
    assert docs == ["signed", "countersigned"]
