"""Chromium at phone width: a nurse who forgot her password asks for a link on the login page,
reads it in the mail the local SMTP server received, sets a new password and logs in with it
(issue 21.8); axe-core on each page of the way."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from ketacare.settings import Settings
from tests.admin.test_password_reset import NEW_PASSWORD, _reset_path
from tests.assessments.support import smtp_server
from tests.axe import assert_accessible
from tests.browser import live_server, require_chromium, shared_chromium
from tests.conftest import PASSWORD, make_clinic, make_user
from tests.portal.support import smtp_app

pytestmark = pytest.mark.browser


def test_nurse_resets_a_forgotten_password_by_mailed_link_in_chromium(
    db: Session, settings: Settings
) -> None:
    require_chromium()
    clinic = make_clinic(db)
    email = make_user(db, clinic, Role.nurse).email
    with smtp_server() as smtp:
        app = smtp_app(settings, smtp)
        with live_server(app) as base, shared_chromium() as browser:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            csp: list[str] = []
            page.on("console", lambda m: csp.append(m.text) if "Content Security" in m.text
                    else None)  # fmt: skip
            page.goto(f"{base}/login")
            page.click("#forgot-password")
            expect(page.locator("h1")).to_have_text("Forgot your password?")
            assert_accessible(page, "forgot password")
            page.fill("#email", email)
            page.keyboard.press("Enter")
            expect(page.locator("#reset-sent")).to_contain_text("password reset link")
            assert_accessible(page, "reset link sent")
            # The mail, from the local SMTP server.
            page.goto(base + _reset_path(smtp))
            expect(page.locator("h1")).to_have_text("Choose a new password")
            assert_accessible(page, "choose a new password")
            page.fill("#new_password", NEW_PASSWORD)
            page.fill("#confirm_password", NEW_PASSWORD + "x")
            page.click("#set-password")
            expect(page.locator("#confirm_password-error")).to_contain_text("does not match")
            page.fill("#new_password", NEW_PASSWORD)
            page.fill("#confirm_password", NEW_PASSWORD)
            page.click("#set-password")
            page.wait_for_url(f"{base}/login?reset=1")
            expect(page.locator("#login-notice")).to_contain_text("Your password was changed")
            # The old password no longer works; the new one does.
            page.fill("#email", email)
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            expect(page.locator("p.error")).to_contain_text("Email or password is wrong")
            page.fill("#email", email)
            page.fill("#password", NEW_PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(lambda url: "/login" not in url)
            assert page.url.startswith(f"{base}/home")
            # The link was spent.
            page.goto(base + _reset_path(smtp))
            expect(page.locator("#reset-problem")).to_contain_text("already been used")
            assert csp == []
