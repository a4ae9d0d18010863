"""End to end in real headless Chromium: self-screen with item 9 = 1, request a
consultation, log in as a clinician and see the request."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from tests.browser import live_server, require_chromium, screenshot_path, shared_chromium
from tests.conftest import PASSWORD, make_clinic, make_user

pytestmark = pytest.mark.browser

SCREENSHOT = screenshot_path("self-screen-result.png")


def test_self_screen_to_lead(app: FastAPI, db: Session, database_url: str, tmp_path: Path) -> None:
    require_chromium()
    clinician = make_user(db, make_clinic(db), Role.clinician)
    phq9 = [2, 2, 1, 2, 1, 2, 1, 0, 1]  # item 9 = 1
    gad7 = [1, 2, 1, 1, 0, 1, 0]
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page(viewport={"width": 900, "height": 1400})
        page.goto(f"{base}/screen")
        # Leave PHQ-9 item 5 out first: the page comes back with the message and our answers.
        for i, value in enumerate(phq9, start=1):
            if i != 5:
                page.check(f'input[name="phq9_{i}"][value="{value}"]')
        for i, value in enumerate(gad7, start=1):
            page.check(f'input[name="gad7_{i}"][value="{value}"]')
        page.click("#see-result")
        expect(page.locator("#form-errors")).to_contain_text("PHQ-9 question 5")
        expect(page.locator('input[name="phq9_1"][value="2"]')).to_be_checked()
        page.check('input[name="phq9_5"][value="1"]')
        page.check('input[name="phq9_10"][value="1"]')
        page.click("#see-result")

        expect(page.locator("#crisis-panel")).to_be_visible()
        expect(page.locator("#crisis-panel")).to_contain_text("988")
        expect(page.locator("#phq9-result")).to_contain_text("12 out of 27")
        expect(page.locator("#phq9-result")).to_contain_text("Moderate")
        expect(page.locator("#gad7-result")).to_contain_text("6 out of 21")
        crisis_y = page.locator("#crisis-panel").bounding_box()
        scores_y = page.locator("#phq9-result").bounding_box()
        assert crisis_y and scores_y and crisis_y["y"] < scores_y["y"]
        if database_url.startswith("sqlite"):
            page.screenshot(path=str(SCREENSHOT), full_page=False)

        page.fill("#name", "Robin Example")
        page.fill("#phone", "+1 555 0199")
        page.fill("#preferred_time", "weekday afternoons")
        page.check("#consent")
        page.click("#request-consult")
        expect(page.locator("#thanks")).to_contain_text("Your request has been received")

        page.goto(f"{base}/leads")
        expect(page).to_have_url(f"{base}/login?next=/leads")
        page.fill("#email", clinician.email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("#leads")).to_contain_text("Robin Example")
        expect(page.locator("#leads")).to_contain_text("item 9 positive")
        page.click("text=Robin Example")
        expect(page.locator("#lead-screening")).to_contain_text("PHQ-9 12")
