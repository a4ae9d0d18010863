"""Issue 13.4 in real headless Chromium: with the default console notifier a new link reads
"not sent", staff make a fresh link, copy it with the button, and the patient opens it."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.settings import Settings
from ketacare.web.app import create_app
from tests.assessments.support import staff
from tests.browser import live_server, require_chromium, shared_chromium, sign_in

pytestmark = pytest.mark.browser


def test_copy_a_fresh_link(db: Session, settings: Settings) -> None:
    require_chromium()
    st = staff(db)
    with live_server(create_app(settings)) as base, shared_chromium() as browser:
        context = browser.new_context(viewport={"width": 1000, "height": 1200})
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page = context.new_page()
        sign_in(page, base, st.email, f"/patients/{st.pid}/assessments")
        page.select_option("#instrument_id", "phq9")
        page.select_option("#recurrence", "once")
        page.fill("#start_date", utcnow().date().isoformat())
        page.click("#create-schedule")
        expect(page.locator("#schedule-list")).to_contain_text("PHQ-9")
        page.reload()
        expect(page.locator("#link-list .delivery")).to_contain_text("not sent")
        page.click("#link-list button[type=submit]")
        expect(page.locator("#shown-link-url")).to_be_visible()
        page.click("#copy-link")
        expect(page.locator("#copy-status")).to_have_text("Copied.")
        copied = page.evaluate("navigator.clipboard.readText()")
        assert copied == page.input_value("#shown-link-url")
        assert copied.startswith(settings.public_url + "/a/")
        expect(page.locator("#link-list .delivery")).to_contain_text("shown to staff")
        patient = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        patient.goto(base + copied[len(settings.public_url) :])
        expect(patient.locator("h1")).to_contain_text("PHQ-9")
