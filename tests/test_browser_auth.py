"""Chromium over the login page, the patient's landing page and /docs (issues 13 and 15), and
the signed-in start the other browser tests take (``tests.browser.sign_in``)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, Route, expect
from sqlalchemy import update
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.auth.models import LoginFailure, Role
from tests.browser import live_server, log_in, require_chromium, shared_chromium, sign_in
from tests.conftest import PASSWORD, make_clinic, make_user

pytestmark = pytest.mark.browser


def test_api_docs_render_offline_without_csp_violations(app: FastAPI) -> None:
    """13.21 / 15.18: /docs was blank offline (Swagger UI from a CDN, 'unsafe-inline')."""
    require_chromium()
    violations: list[str] = []
    outside: list[str] = []
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page()
        page.on("console", lambda m: violations.append(m.text) if m.type == "error" else None)

        def offline(route: Route) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", offline)
        page.goto(f"{base}/docs")
        expect(page.locator(".opblock").first).to_be_visible(timeout=15_000)
        expect(page.locator("body")).to_contain_text("/api/v1/patients")
    assert outside == []
    assert violations == []


def test_login_page_in_chromium(app: FastAPI, db: Session, settings: Any) -> None:
    """13.3 / 13.8: a throttled login keeps the form and the email; the right password then
    works from the owner's address once the wait is over; a patient lands on their page."""
    require_chromium()
    object.__setattr__(settings, "lockout_threshold", 2)
    clinic = make_clinic(db)
    nurse = make_user(db, clinic, Role.nurse)
    patient = make_user(db, clinic, Role.patient)
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page()
        for _ in range(3):
            page.goto(f"{base}/login")
            page.fill("#email", nurse.email)
            page.fill("#password", "wrong-password-guess")
            page.click("button[type=submit]")
        expect(page.locator("[role=alert]")).to_contain_text("Too many failed logins")
        expect(page.locator("#email")).to_have_value(nurse.email)
        # After the wait (shortened here) the owner's right password works.
        db.execute(update(LoginFailure).values(blocked_until=utcnow() - timedelta(seconds=1)))
        db.commit()
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("nav")).to_contain_text(nurse.email)
        page.click("nav button:has-text('Log out')")

        log_in(page, base, patient.email)
        expect(page.locator("h1")).to_have_text("Your page")
        assert page.url == f"{base}/me"


def test_sign_in_gives_the_session_the_login_form_gives(app: FastAPI, db: Session) -> None:
    """``tests.browser.sign_in``, where most browser tests start, opens the session the login
    form opens: the same cookie, attributes and lifetime, and the same pages for the user."""
    require_chromium()
    clinic = make_clinic(db)
    billing = make_user(db, clinic, Role.billing)
    with live_server(app) as base, shared_chromium() as browser:
        form = browser.new_page()
        log_in(form, base, billing.email)  # lands on the role's page: /billing
        signed = browser.new_page()
        sign_in(signed, base, billing.email, "/billing")
        assert signed.url == form.url == f"{base}/billing"

        def session_cookie(page: Page) -> dict[str, Any]:
            (cookie,) = [c for c in page.context.cookies() if c["name"] == "kc_session"]
            return dict(cookie)

        by_form, by_helper = session_cookie(form), session_cookie(signed)
        assert by_form["value"] != by_helper["value"]  # two sessions
        assert abs(by_form["expires"] - by_helper["expires"]) < 60
        same = ("domain", "path", "httpOnly", "secure", "sameSite")
        assert {k: by_helper[k] for k in same} == {k: by_form[k] for k in same}
        for page in (form, signed):
            expect(page.locator("nav")).to_contain_text(billing.email)
        assert signed.locator("main").inner_text() == form.locator("main").inner_text()
        signed.goto(f"{base}/patients")  # the role's limits hold the same way
        form.goto(f"{base}/patients")
        assert signed.locator("main").inner_text() == form.locator("main").inner_text()
