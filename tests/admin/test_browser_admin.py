"""Real headless Chromium through the admin pages (create a user, give them an API token,
revoke it) and the referral letter in print media (issue 21.8)."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients.models import Patient
from tests.browser import (
    live_server,
    log_in,
    require_chromium,
    screenshot_path,
    shared_chromium,
    shared_playwright,
    sign_in,
)
from tests.conftest import make_clinic, make_user
from tests.sessions.support import make_session, setup

pytestmark = pytest.mark.browser


def test_admin_creates_a_user_and_revokes_their_token_in_chromium(
    app: FastAPI, db: Session
) -> None:
    require_chromium()
    clinic = make_clinic(db)
    admin = make_user(db, clinic, Role.admin)
    email = admin.email
    db.commit()
    csp: list[str] = []
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.on("console", lambda m: csp.append(m.text) if "Content Security" in m.text else None)
        sign_in(page, base, email)
        # The header's Admin group links to the users page.
        page.get_by_role("link", name="Users").click()
        expect(page.locator("h1")).to_have_text("Users")

        # A mistake is named next to the form; then the account is made, its password shown.
        page.fill("#email", "not-an-email")
        page.click("#create-user")
        expect(page.locator("#form-errors")).to_contain_text("email")
        expect(page.locator("#email")).to_have_attribute("aria-invalid", "true")
        page.fill("#email", "sam.rivera@clinic.example")
        page.fill("#display_name", "Sam Rivera")
        page.select_option("#role", "clinician")
        page.click("#create-user")
        expect(page.locator("#issued")).to_contain_text("sam.rivera@clinic.example")
        password = page.locator("#issued-secret").inner_text().strip()
        assert len(password) >= 16
        page.screenshot(path=str(screenshot_path("admin-users-390.png")), full_page=True)
        # Nothing is wider than a phone.
        assert page.evaluate("document.documentElement.scrollWidth") <= 390

        # Their page: create an API token (shown once), use it, revoke it with the keyboard.
        page.get_by_role("link", name="sam.rivera@clinic.example").click()
        page.fill("#name", "reporting script")
        page.click("#create-token")
        token = page.locator("#issued-secret").inner_text().strip()
        assert token.startswith("kc_pat_")
        api = shared_playwright().request.new_context(
            base_url=base
        )  # no browser cookies: the bearer only
        bearer = {"Authorization": f"Bearer {token}"}
        assert api.get("/api/v1/patients", headers=bearer).status == 200
        page.goto(page.url.split("#")[0].replace("/tokens", ""))
        expect(page.locator("#token-list")).to_contain_text("reporting script")
        assert token not in page.content()
        revoke = page.get_by_role("button", name="Revoke token reporting script")
        revoke.focus()
        page.keyboard.press("Enter")
        expect(page.locator("#token-list")).to_contain_text("revoked")
        assert api.get("/api/v1/patients", headers=bearer).status == 401
        api.dispose()

        # The new clinician logs in with the temporary password.
        other = browser.new_page()
        log_in(other, base, "sam.rivera@clinic.example", password)
        other.goto(f"{base}/account")
        expect(other.locator("h1")).to_have_text("Your account")
    assert csp == []


def test_letter_prints_without_navigation_in_chromium(app: FastAPI, db: Session) -> None:
    require_chromium()
    ctx = setup(db)
    pid = ctx["patient_id"]
    patient = db.get(Patient, pid)
    clinic = db.get(Clinic, ctx["clinic_id"])
    assert patient is not None and clinic is not None
    session_id = make_session(db, clinic, patient).id
    db.commit()
    with live_server(app) as base, shared_chromium() as browser:
        api = shared_playwright().request.new_context(base_url=base)
        r = api.post(
            f"/api/v1/patients/{pid}/assessments",
            headers=ctx["clinician"],
            data={"instrument": "phq9", "answers": [2] * 8 + [0]},
        )
        assert r.status == 201, r.text()
        api.dispose()
        page = browser.new_page()
        sign_in(page, base, ctx["clinician_email"], f"/patients/{pid}")
        page.click("#link-letter")
        page.fill("#to", "Dr Lee, Main St Practice")
        page.get_by_role("button", name="Update letter").click()
        expect(page.locator("#letter-to")).to_contain_text("Dr Lee, Main St Practice")
        expect(page.locator("header.top")).to_be_visible()

        page.emulate_media(media="print")
        expect(page.locator("header.top")).to_be_hidden()
        expect(page.locator("header.top nav")).to_be_hidden()
        expect(page.locator("#letter-options")).to_be_hidden()
        expect(page.locator("#clinic-tz")).to_be_hidden()
        expect(page.locator("#letter")).to_be_visible()
        expect(page.locator("#letter-scores")).to_contain_text("PHQ-9")
        expect(page.locator("#letter-scores")).to_contain_text("Moderately severe")
        expect(page.locator("#letter-signature")).to_contain_text(ctx["clinician_email"])
        pdf = page.pdf(format="A4")
        assert pdf.startswith(b"%PDF")
        page.screenshot(path=str(screenshot_path("letter-print.png")), full_page=True)

        # The patient chart prints without the header and the section links too.
        page.goto(f"{base}/patients/{pid}")
        expect(page.locator("header.top")).to_be_hidden()
        expect(page.locator("#patient-sections")).to_be_hidden()
        expect(page.locator("#patient-summary")).to_be_visible()
        # So does the session record.
        page.goto(f"{base}/sessions/{session_id}")
        expect(page.locator("header.top")).to_be_hidden()
        expect(page.locator("#session-summary")).to_be_visible()
