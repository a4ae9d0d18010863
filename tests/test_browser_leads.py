"""In real headless Chromium (JavaScript on): a lead's contact history, then "Convert to
patient" with the self-screen added on consent (issues 13.11 and 13.12)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.assessments.models import Assessment, Source
from ketacare.features.auth.models import Role
from ketacare.features.screening.models import Lead
from tests.browser import live_server, require_chromium, shared_chromium, sign_in
from tests.conftest import make_clinic, make_user

pytestmark = pytest.mark.browser


def test_lead_history_and_convert_to_patient(app: FastAPI, db: Session) -> None:
    require_chromium()
    clinician = make_user(db, make_clinic(db), Role.clinician)
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1200})
        assert page.evaluate("() => typeof fetch") == "function"  # the JavaScript path
        page.goto(f"{base}/screen")
        for i in range(1, 10):
            page.check(f'input[name="phq9_{i}"][value="2"]')
        page.click("#see-result")
        expect(page.locator("#phq9-result")).to_contain_text("18 out of 27")
        page.fill("#name", "Robin Q Example")
        page.fill("#phone", "+1 555 0199")
        page.fill("#email", "robin@example.org")
        page.check("#consent")
        page.click("#request-consult")
        expect(page.locator("#thanks")).to_be_visible()

        sign_in(page, base, clinician.email, "/leads")
        page.click("text=Robin Q Example")
        lead_url = page.url
        for note in ("Left a voicemail", "Called back; booked Tuesday"):
            page.select_option("#status", "contacted")
            page.fill("#note", note)
            page.click("#save-note")
            expect(page.locator("#contact-history")).to_contain_text(note)
        # Both notes kept, oldest first, each with its author.
        history = page.locator("#contact-history li")
        expect(history).to_have_count(2)
        expect(history.nth(0)).to_contain_text("Left a voicemail")
        expect(history.nth(1)).to_contain_text(clinician.email)

        page.click("#convert-lead")
        expect(page.locator("#given_name")).to_have_value("Robin Q")
        expect(page.locator("#family_name")).to_have_value("Example")
        expect(page.locator("#phone")).to_have_value("+1 555 0199")
        expect(page.locator("#email")).to_have_value("robin@example.org")
        page.fill("#birth_date", "1980-05-06")
        page.check("#screening_consent")
        page.click("#create-patient")
        expect(page.locator("h1")).to_contain_text("Example")
        expect(page.locator("#patient-origin")).to_contain_text("Consultation request")
        patient_url = page.url
        page.click("#patient-origin a")
        assert page.url == lead_url
        expect(page.locator("#lead-patient")).to_contain_text("consent")
        page.click("#lead-patient-link")
        assert page.url == patient_url
        page.click("#link-assessments")
        expect(page.locator("body")).to_contain_text("self_screen")
    lead = db.execute(select(Lead)).scalar_one()
    rows = db.execute(select(Assessment)).scalars().all()
    db.commit()
    assert lead.patient_id is not None
    assert [(a.instrument_id, a.total, a.source) for a in rows] == [
        ("phq9", 18, Source.self_screen)
    ]
