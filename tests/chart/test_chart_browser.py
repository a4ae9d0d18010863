"""The patient chart in real headless Chromium: a nurse opens it, reads the alerts first,
adds an allergy with the keyboard, follows a quick action; no sideways scrolling at 390 px."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from tests.browser import live_server, require_chromium, screenshot_path, shared_chromium, sign_in
from tests.chart.support import START, full_patient
from tests.conftest import make_clinic, make_user
from tests.sessions.support import install_clock

pytestmark = pytest.mark.browser


def test_patient_chart_in_chromium(app: FastAPI, db: Session) -> None:
    require_chromium()
    clinic = make_clinic(db)
    patient = full_patient(db, clinic, sessions=5)
    pid = patient.id
    email = make_user(db, clinic, Role.nurse).email
    db.commit()
    install_clock(app, START.replace(day=20))
    violations: list[str] = []
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page(viewport={"width": 1100, "height": 1400})
        page.on(
            "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
        )
        sign_in(page, base, email, f"/patients/{pid}")
        expect(page.locator("#patient-header")).to_contain_text("2 open alerts")
        expect(page.locator("#panel-alerts")).to_contain_text("Urgent:")
        expect(page.locator("#score-phq9")).to_contain_text("Moderate")
        expect(page.locator("#score-phq9 svg.sparkline")).to_be_visible()
        expect(page.locator("#course-progress")).to_contain_text("Next: session 6 of")
        expect(page.locator("#last-session")).to_contain_text("84 mg")
        expect(page.locator("#panel-notes")).to_be_visible()
        # The alert panel comes before the identity card on the screen too.
        alerts_y = page.locator("#panel-alerts").bounding_box()
        identity_y = page.locator("#patient-summary").bounding_box()
        assert alerts_y is not None and identity_y is not None
        assert alerts_y["y"] < identity_y["y"]
        page.screenshot(path=str(screenshot_path("patient-chart.png")), full_page=True)

        # Add an allergy from the keyboard: open the form, type, submit with Enter.
        page.locator("#panel-allergies summary").focus()
        page.keyboard.press("Enter")
        page.locator("#allergy-substance").focus()
        page.keyboard.type("Penicillin")
        page.select_option("#allergy-severity", "severe")
        page.locator("#allergy-reaction").focus()
        page.keyboard.type("anaphylaxis")
        page.keyboard.press("Enter")
        expect(page.locator("#allergy-list")).to_contain_text("Penicillin: anaphylaxis")
        expect(page.locator("#allergy-list")).to_contain_text("severe")

        # At phone width nothing scrolls sideways.
        page.set_viewport_size({"width": 390, "height": 844})
        page.reload()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, overflow
        page.screenshot(path=str(screenshot_path("patient-chart-390.png")), full_page=True)

        # A quick action leads to the start-session form, under the same patient header.
        page.click("#action-chart-session")
        expect(page.locator("#start-session")).to_be_visible()
        expect(page.locator("#patient-header")).to_contain_text("2 open alerts")
    assert violations == []


def test_address_form_on_the_chart_in_chromium(app: FastAPI, db: Session) -> None:
    """The chart's "Change the address" form as a nurse uses it (JavaScript on): a bad state
    comes back with the field named and what was typed kept; a good one is shown."""
    from ketacare.features.patients import service

    require_chromium()
    clinic = make_clinic(db)
    patient = service.create_patient(db, clinic.id, service.PatientInput("Ada", "Lee"))
    pid, email = patient.id, make_user(db, clinic, Role.nurse).email
    db.commit()
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page(viewport={"width": 820, "height": 1180})
        sign_in(page, base, email, f"/patients/{pid}")
        expect(page.locator("#patient-address")).to_have_text("—")
        page.click("#edit-address summary")
        page.fill("#a-address_line", "12 Elm St")
        page.fill("#a-city", "Nashville")
        page.fill("#a-state", "QQ")
        page.click("#address-save")
        expect(page.locator("#a-state-error")).to_contain_text("two-letter US state code")
        expect(page.locator("#a-address_line")).to_have_value("12 Elm St")
        page.fill("#a-state", "TN")
        page.fill("#a-postal_code", "37201")
        page.click("#address-save")
        expect(page.locator("#patient-address")).to_have_text("12 Elm St, Nashville, TN 37201")
        page.close()
