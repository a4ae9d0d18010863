"""Real headless Chromium over the admin page for licensed item text: a mistake is named, QIDS-SR16
placeholder text for all 16 items is loaded (then it can be sent as a link), and removed.

The wording is placeholder text; no licensed QIDS wording is used.
"""

from __future__ import annotations

import json

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from tests.browser import live_server, require_chromium, screenshot_path, shared_chromium, sign_in
from tests.conftest import make_clinic, make_user

pytestmark = pytest.mark.browser

PLACEHOLDER = {str(i): f"Clinic-licensed wording for item {i}" for i in range(1, 17)}


def test_admin_loads_and_removes_qids_text_in_chromium(app: FastAPI, db: Session) -> None:
    require_chromium()
    clinic = make_clinic(db)
    admin = make_user(db, clinic, Role.admin)
    violations: list[str] = []
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page()
        page.on(
            "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
        )
        sign_in(page, base, admin.email)
        page.click('nav a:has-text("Licensed text")')
        expect(page.locator("h1")).to_contain_text("Licensed item text")
        row = page.locator("#text-qids-sr16")
        expect(row).to_contain_text("not loaded")
        expect(row).to_contain_text("0 of 16")

        # An item that does not exist is named; nothing is loaded.
        page.select_option("#instrument", "qids-sr16")
        page.fill("#texts", json.dumps({**PLACEHOLDER, "99": "Clinic-licensed wording"}))
        page.fill("#licence", "Licence ref TEST-1")
        page.click("#load-text")
        expect(page.locator("#form-errors")).to_contain_text("texts.99")
        expect(page.locator("#text-qids-sr16")).to_contain_text("not loaded")

        page.fill("#texts", json.dumps(PLACEHOLDER, indent=1))
        page.click("#load-text")
        expect(page.locator("#done")).to_contain_text("Loaded the item text of QIDS-SR16")
        row = page.locator("#text-qids-sr16")
        expect(row).to_contain_text("16 of 16")
        expect(row).to_contain_text("can be sent as a link")
        expect(row).to_contain_text("Licence ref TEST-1")
        expect(row).to_contain_text(admin.email)
        expect(page.locator("body")).not_to_contain_text("Clinic-licensed wording")
        page.screenshot(path=str(screenshot_path("instrument-texts.png")), full_page=True)

        page.click("#remove-qids-sr16")
        expect(page.locator("#done")).to_contain_text("Removed the item text of QIDS-SR16")
        row = page.locator("#text-qids-sr16")
        expect(row).to_contain_text("not loaded")
        expect(page.locator("#remove-qids-sr16")).to_have_count(0)
    assert violations == []
