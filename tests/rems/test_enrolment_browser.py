"""In real headless Chromium on a tablet-width page (820 px, touch, JavaScript on, strict CSP),
issue 19.2: an esketamine course booking is refused, with the reason, until the patient is
enrolled in the SPRAVATO REMS; the patient signs the Patient Enrollment Form on the tablet with a
drawn signature (the booking stays blocked: the form awaits the prescriber), the prescriber
countersigns on their own device, the enrolment page shows the document and its verified hash,
and the booking goes through."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy.orm import Session

from ketacare.domain.course.booking import StaffRole
from ketacare.features.auth.actor import Actor
from ketacare.features.clinics.models import Clinic
from ketacare.features.rems import service as rems
from ketacare.features.scheduling import service as scheduling
from ketacare.settings import Settings
from tests.browser import live_server, require_chromium, shared_chromium, sign_in
from tests.scheduling.support import at
from tests.scheduling.test_scheduling_api import START
from tests.sessions.support import T0, install_clock, setup

pytestmark = pytest.mark.browser


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The REMS gate on."""
    return settings.model_copy(update={"rems_gate_enforced": True})


def book(page: Page, base: str, pid: int) -> None:
    page.goto(f"{base}/patients/{pid}/bookings")
    page.fill('input[name="earliest"]', "10:00")
    page.click("#find-slots")
    expect(page.locator("#proposed-slots li").first).to_contain_text("2025-03-03 10:00")
    page.click("#book-course-button")


def test_tablet_enrolment_form_signed_countersigned_unblocks_the_booking(
    app: FastAPI, db: Session
) -> None:
    require_chromium()
    install_clock(app, T0)  # 2025-03-03 09:00 UTC = 04:00 in New York
    w = setup(db)  # an esketamine plan
    clinic = db.get(Clinic, w["clinic_id"])
    assert clinic is not None
    clinic.timezone = "America/New_York"
    actor = Actor.cli(clinic.id)
    rems.save_setting(
        db, actor, clinic.id,
        rems.SettingInput("Main St", "1 Clinic Way", "outpatient", True, T0.date() - timedelta(
            days=30), "S-1", "Ada Rep", "distributor", True),
        T0,
    )  # fmt: skip
    site = scheduling.create_site(db, actor, clinic.id, "Main", "mon-fri 08:00-18:00", True)
    for name in ("Chair 1", "Chair 2"):
        scheduling.add_chair(db, actor, site, name)
    for d in range(260):
        day = START + timedelta(days=d)
        for who, role in (("Nurse", StaffRole.nurse), ("Dr P", StaffRole.prescriber)):
            scheduling.add_shift(db, actor, site, who, role, at(day, 8), at(day, 18))
    db.commit()
    pid = w["patient_id"]
    csp_errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if "Content Security Policy" in msg.text or "Refused to" in msg.text:
            csp_errors.append(msg.text)

    with live_server(app) as base, shared_chromium() as browser:
        tablet = browser.new_context(viewport={"width": 820, "height": 1180}, has_touch=True)
        page = tablet.new_page()
        page.on("console", on_console)
        sign_in(page, base, w["nurse_email"], None)
        # Not enrolled: the booking is refused with the reason.
        book(page, base, pid)
        expect(page.locator("#errors")).to_contain_text("not enrolled in the SPRAVATO REMS")

        # The patient signs the enrolment form on the tablet.
        page.goto(f"{base}/patients/{pid}/rems")
        expect(page.locator("#enrolment-form-state")).to_contain_text("Not signed yet")
        page.click("#sign-enrolment")
        expect(page.locator("h1")).to_contain_text("SPRAVATO REMS Patient Enrollment Form")
        # The signature pad's scripts are deferred: the heading can be there before they have
        # run (as in tests/consent/test_consent_browser.py).
        page.wait_for_load_state("load")
        assert page.evaluate("typeof window.SignaturePad") == "function"
        page.check("#attested")
        page.fill("#typed_name", "Pat Ient")
        box = page.locator("#signature-pad").bounding_box()
        assert box is not None and box["width"] <= 820
        page.mouse.move(box["x"] + 20, box["y"] + box["height"] - 30)
        page.mouse.down()
        for i in range(1, 12):
            page.mouse.move(box["x"] + 20 + i * 25, box["y"] + 40 + (i % 3) * 30, steps=3)
        page.mouse.up()
        expect(page.locator("#signature-status")).to_contain_text("captured")
        page.click("#sign")
        expect(page.locator("#enrolment-form-state")).to_contain_text(
            "awaits the prescriber's countersignature"
        )
        expect(page.locator("#rems-enrolled")).to_have_text("Not enrolled.")
        expect(page.locator("#rems-gate")).to_contain_text("awaits the prescriber")
        expect(page.locator("#countersign-enrolment")).to_have_count(0)  # a nurse is no prescriber
        expect(page.locator("#countersign-hint")).to_be_visible()
        # Signed by the patient only: the booking is still refused, saying why.
        book(page, base, pid)
        expect(page.locator("#errors")).to_contain_text("awaits the prescriber's countersignature")

        # The prescriber countersigns on their own device.
        desk = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        desk.on("console", on_console)
        sign_in(desk, base, w["clinician_email"], f"/patients/{pid}/rems")
        desk.click("#countersign-enrolment")
        expect(desk.locator("#rems-enrolled")).to_have_text("Enrolled from 2025-03-03.")
        expect(desk.locator("#enrolment-form-state")).to_contain_text("countersigned")
        verified = desk.locator("#enrolment-documents .verification")
        expect(verified).to_have_count(2)
        expect(verified.first).to_contain_text("matches the stored hash")
        expect(desk.locator("#enrolment-history")).to_contain_text("#")

        # The booking goes through.
        book(page, base, pid)
        expect(page.locator("#errors")).to_have_count(0)
        assert page.locator("#bookings tbody tr").count() >= 1
    assert csp_errors == []
