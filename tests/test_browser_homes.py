"""Chromium walks from login to each role's home page (issue 21.2) with screenshots
(``home-<role>.png``), and the nav badges updating without a reload (issue 21.8)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.auth.models import Role
from ketacare.features.outreach.models import Invitation
from ketacare.features.sessions.models import SessionStatus
from ketacare.settings import Settings
from tests.assessments.support import PHQ9_ITEM9_2, make_patient
from tests.browser import (
    live_server,
    log_in,
    require_chromium,
    screenshot_path,
    shared_chromium,
    shared_playwright,
)
from tests.conftest import api_token, make_user
from tests.reports.support import small_clinic
from tests.scheduling.support import world
from tests.sessions.support import make_session

pytestmark = pytest.mark.browser

LANDING = {"nurse": "/home", "clinician": "/home", "admin": "/home", "billing": "/billing",
           "patient": "/me", "frontdesk": "/home"}  # fmt: skip
MARKER = {"nurse": "#home-board", "clinician": "#home-alerts", "admin": "#home-audit",
          "billing": "h1", "patient": "h1", "frontdesk": "#home-desk-today"}  # fmt: skip


def _log_in(page: Page, base: str, email: str) -> None:
    log_in(page, base, email)


def _fits(page: Page) -> None:
    width, vw = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= vw, (page.url, width, vw)


def _walk(browser: Browser, base: str, role: str, email: str) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _log_in(page, base, email)
    page.wait_for_url(f"{base}{LANDING[role]}")
    expect(page.locator(MARKER[role]).first).to_be_visible()
    nav = page.locator('nav[aria-label="Main"]')
    if role in ("nurse", "clinician", "admin", "frontdesk"):
        expect(nav.locator('a[aria-current="page"]')).to_have_text("Home")
        group = nav.locator('[role="group"][aria-label="Measurement"]')
        if role == "frontdesk":  # no clinical pages, so no link to them
            expect(group).to_have_count(0)
        else:
            expect(group).to_be_visible()
    # The brand link (/) brings a signed-in user back to the same home.
    page.click("a.brand")
    page.wait_for_url(f"{base}{LANDING[role]}")
    page.screenshot(path=str(screenshot_path(f"home-{role}.png")), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    _fits(page)
    page.close()


def test_each_role_logs_in_to_its_home(app: FastAPI, db: Session) -> None:
    require_chromium()
    w = world(db, chairs=3, patients=2, days=1)
    from ketacare.features.clinics.models import Clinic

    clinic = db.get(Clinic, w.clinic_id)
    assert clinic is not None
    users = {r.value: make_user(db, clinic, r) for r in
             (Role.nurse, Role.clinician, Role.admin, Role.billing, Role.patient,
              Role.frontdesk)}  # fmt: skip
    # Something for the clinician to see: an alert, an overdue questionnaire, a session to sign.
    patient = make_patient(db, clinic, "ada@example.org", "Ada")
    headers = {"Authorization": f"Bearer {api_token(db, users['clinician'])}"}
    s = make_session(db, clinic, patient)
    s.status = SessionStatus.discharged
    db.add(Invitation(clinic_id=clinic.id, patient_id=patient.id, instrument_id="gad7",
                      token_hash="b" * 64, due_at=utcnow() - timedelta(days=2),
                      expires_at=utcnow() + timedelta(days=5)))  # fmt: skip
    db.commit()
    emails = {role: u.email for role, u in users.items()}
    with live_server(app) as base, shared_chromium() as browser:
        api = shared_playwright().request.new_context(base_url=base, extra_http_headers=headers)
        r = api.post(f"/api/v1/patients/{patient.id}/assessments",
                     data={"instrument": "phq9", "answers": PHQ9_ITEM9_2})  # fmt: skip
        assert r.status == 201, r.text()
        for role, email in emails.items():
            _walk(browser, base, role, email)
        api.dispose()


def test_badge_updates_without_reload(app: FastAPI, db: Session) -> None:
    """A clinician's header shows no alert badge; an alert raised elsewhere appears as
    "1 open" at the next 30-second poll (the page's clock is advanced), with no reload;
    coming back to the tab (visibilitychange) polls at once."""
    require_chromium()
    w = world(db, chairs=1, patients=1, days=1)
    from ketacare.features.clinics.models import Clinic

    clinic = db.get(Clinic, w.clinic_id)
    assert clinic is not None
    clinician = make_user(db, clinic, Role.clinician)
    patient = make_patient(db, clinic, "bo@example.org", "Bo")
    headers = {"Authorization": f"Bearer {api_token(db, clinician)}"}
    pid, email = patient.id, clinician.email
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page()
        page.clock.install()
        _log_in(page, base, email)
        page.wait_for_url(f"{base}/home")
        badge = page.locator('nav a[href="/alerts"] span.badge[data-badge="alerts"]')
        expect(badge).to_be_hidden()  # 0 open: no badge
        page.evaluate("window.__sameDocument = true")
        polls: list[str] = []
        page.on("request", lambda r: polls.append(r.url) if "badges.json" in r.url else None)

        api = shared_playwright().request.new_context(base_url=base, extra_http_headers=headers)
        r = api.post(f"/api/v1/patients/{pid}/assessments",
                     data={"instrument": "phq9", "answers": PHQ9_ITEM9_2})  # fmt: skip
        assert r.status == 201
        page.clock.run_for(29_000)
        expect(badge).to_be_hidden()  # not polled yet
        page.clock.run_for(2_000)  # the 30-second poll
        expect(badge).to_be_visible()
        expect(badge).to_have_text("1 open")
        # Read as part of the link by a screen reader: "Alerts 1 open".
        expect(page.get_by_role("link", name="Alerts 1 open")).to_be_visible()
        assert page.evaluate("window.__sameDocument") is True  # no reload
        assert len(polls) == 1

        # A second alert; coming back to the tab polls at once, before the next interval.
        cssrs = {"1": 1, "2": 1, "3": 0, "4": 1, "5": 0, "6": 0}
        body = {"instrument": "cssrs-screen-recent", "answers": cssrs}
        r = api.post(f"/api/v1/patients/{pid}/assessments", data=body)
        assert r.status == 201
        page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        expect(badge).not_to_have_text("1 open")
        assert badge.inner_text().endswith(" open") and int(badge.inner_text().split()[0]) >= 2
        assert page.evaluate("window.__sameDocument") is True
        api.dispose()


def test_analytics_first_screen_in_chromium(app: FastAPI, db: Session, settings: Settings) -> None:
    """Issue 21.3: the figures and the anchors are on the first screen; the details open
    with their summary (keyboard: Enter on the focused summary)."""
    require_chromium()
    clinic, _ = small_clinic(db, settings, n=40, seed=5)
    email = make_user(db, clinic, Role.clinician).email
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        _log_in(page, base, email)
        page.goto(f"{base}/analytics?synthetic=include")
        page.screenshot(path=str(screenshot_path("analytics-first-screen.png")))
        for fid in ("#fig-response", "#fig-remission", "#fig-followup", "#anchors thead"):
            box = page.locator(fid).bounding_box()
            assert box is not None and box["y"] + box["height"] <= 900, fid  # first screen
        expect(page.locator("#anchors")).to_contain_text("McInnes 2022")
        expect(page.locator("#rates")).to_be_hidden()  # collapsed
        page.locator("#details > summary").focus()
        page.keyboard.press("Enter")
        expect(page.locator("#rates")).to_be_visible()
        expect(page.locator("#published")).to_contain_text("SUSTAIN-1")
        page.set_viewport_size({"width": 390, "height": 844})
        _fits(page)
