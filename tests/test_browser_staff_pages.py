"""Real headless Chromium over the staff pages no feature walk visits: new patient, account
(password change, log out everywhere), audit log, overdue list and the Today page."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from tests.browser import live_server, log_in, require_chromium, shared_chromium, sign_in
from tests.conftest import PASSWORD, make_clinic, make_user

pytestmark = pytest.mark.browser

NEW_PASSWORD = "violet tram under the bridge"


def test_staff_pages_in_chromium(app: FastAPI, db: Session) -> None:
    require_chromium()
    clinic = make_clinic(db)
    admin = make_user(db, clinic, Role.admin)
    violations: list[str] = []
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page()
        page.on(
            "console", lambda m: violations.append(m.text) if "Content Security" in m.text else None
        )
        sign_in(page, base, admin.email, None)

        # New patient: a mistake is shown next to the form, then the record is created.
        page.goto(f"{base}/patients/new")
        page.fill("#family_name", "Quill")
        page.fill("#birth_date", "2999-01-01")
        page.click("#create-patient")
        expect(page.locator("#form-errors")).to_contain_text("given_name")
        expect(page.locator("#form-errors")).to_contain_text("must not be in the future")
        page.fill("#given_name", "Ada")
        page.fill("#birth_date", "1980-02-03")
        page.click("#create-patient")
        expect(page.locator("#patient-summary")).to_contain_text("1980-02-03")
        expect(page.locator("h1")).to_contain_text("Quill, Ada")

        # The audit log shows the creation and the read, filtered by patient.
        patient_id = page.url.rsplit("/", 1)[1]
        page.goto(f"{base}/admin/audit?patient={patient_id}")
        expect(page.locator("#audit")).to_contain_text("create")
        expect(page.locator("#audit")).to_contain_text(admin.email)

        # A rater enters a MADRS (item labels only: no licensed text); a missing item is
        # named, then the total shows on the patient's assessments and trajectory pages.
        page.goto(f"{base}/patients/{patient_id}/assessments/new?instrument=madrs")
        items = page.locator("fieldset.item").all()
        assert len(items) == 10
        for item in items[1:]:
            item.locator('input[value="2"]').check()
        page.click("#save-scores")
        expect(page.locator("#form-errors")).to_be_visible()
        page.locator("fieldset.item").first.locator('input[value="2"]').check()
        page.click("#save-scores")
        expect(page.locator("body")).to_contain_text("MADRS")
        expect(page.locator("body")).to_contain_text("20")
        page.goto(f"{base}/patients/{patient_id}/trajectories")
        expect(page.locator("svg").first).to_be_visible()

        page.goto(f"{base}/overdue")
        expect(page.locator("h1")).to_contain_text("Overdue assessments")
        page.goto(f"{base}/today")
        expect(page.locator("#today-sessions")).to_be_visible()

        # Account: a common password is refused, a passphrase accepted; then log out
        # everywhere, and the new password works.
        page.goto(f"{base}/account")
        page.fill("#current_password", PASSWORD)
        page.fill("#new_password", "password123")
        page.click('button:has-text("Change password")')
        expect(page.locator(".error")).to_contain_text("too common")
        page.fill("#current_password", PASSWORD)
        page.fill("#new_password", NEW_PASSWORD)
        page.click('button:has-text("Change password")')
        expect(page.locator("#done")).to_contain_text("Password changed.")
        page.click("#logout-all")
        expect(page).to_have_url(f"{base}/login")
        page.goto(f"{base}/patients")
        expect(page).to_have_url(f"{base}/login?next=/patients")
        log_in(page, base, admin.email, NEW_PASSWORD)
        expect(page.locator("h1")).to_contain_text("Admin home")  # the role's home (21.2)
    assert violations == []
