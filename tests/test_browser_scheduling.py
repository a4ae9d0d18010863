"""In real headless Chromium (JavaScript on), issue 17: a front-desk user (the clinic's admin,
the office role) books a 6-session IV course from the plan with the page's script, the patient
confirms by the link, the nurse sees the confirmation on the live chair board, opens the
session from the board, and after the dose the board shows the next BP due."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ketacare.domain.course.booking import StaffRole
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from ketacare.features.scheduling import service
from tests import real_http
from tests.browser import live_server, require_chromium, shared_chromium, sign_in
from tests.conftest import make_user
from tests.scheduling.support import at
from tests.scheduling.test_scheduling_api import START
from tests.sessions.support import CHECKLIST_OK, T0, install_clock, setup

pytestmark = pytest.mark.browser


@pytest.mark.long
def test_front_desk_books_course_patient_confirms_nurse_opens_from_board(
    app: FastAPI, db: Session
) -> None:
    require_chromium()
    clock = install_clock(app, T0)
    w = setup(db, "iv")
    clinic = db.get(Clinic, w["clinic_id"])
    assert clinic is not None
    clinic.timezone = "America/New_York"
    desk = make_user(db, clinic, Role.admin)
    actor = Actor.cli(clinic.id)
    site = service.create_site(db, actor, clinic.id, "Main", "mon-fri 08:00-18:00", True)
    for name in ("Chair 1", "Chair 2"):
        service.add_chair(db, actor, site, name)
    for d in range(35):
        day = START + timedelta(days=d)
        service.add_shift(db, actor, site, "Nurse", StaffRole.nurse, at(day, 8), at(day, 18))
    db.commit()
    pid = w["patient_id"]
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        assert page.evaluate("() => typeof fetch") == "function"  # the JavaScript path
        sign_in(page, base, desk.email, "/scheduling")
        expect(page.locator("#sites")).to_contain_text("Main")
        page.goto(f"{base}/patients/{pid}")
        page.click("#link-bookings")
        page.fill('input[name="earliest"]', "10:00")
        expect(page.locator("#book-course-button")).to_be_hidden()
        page.click("#find-slots")
        slots = page.locator("#proposed-slots li")
        expect(slots).to_have_count(6)
        expect(slots.nth(0)).to_contain_text("2025-03-03 10:00")
        page.click("#book-course-button")
        expect(page.locator("#bookings tbody tr")).to_have_count(6)
        expect(page.locator("#bookings")).to_contain_text("not confirmed")

        # The day view flags the unconfirmed booking; the desk makes a confirmation link.
        page.goto(f"{base}/scheduling/sites/{site.id}/day?day=2025-03-03")
        expect(page.locator("#unconfirmed")).to_contain_text("1 booking")
        page.click("text=Confirmation link")
        link = page.locator("#confirm-link").input_value()
        # the copy button appears once its script is ready, and copies
        page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        page.click("#copy-link")
        expect(page.locator("#copy-status")).to_have_text("Copied.")
        assert page.evaluate("() => navigator.clipboard.readText()") == link
        path = "/b/" + link.split("/b/")[1]

        # The patient (no account) opens the link, acknowledges the instructions, confirms.
        patient = browser.new_context().new_page()
        patient.goto(f"{base}{path}")
        expect(patient.locator("#visit")).to_contain_text("10:00")
        patient.check('input[name="instructions"]')
        patient.click("text=Confirm my visit")
        expect(patient.locator("#visit-status")).to_have_text("confirmed")

        # The nurse's chair board shows the confirmation without a reload of the page.
        nurse = browser.new_context().new_page()
        sign_in(nurse, base, w["nurse_email"], f"/scheduling/sites/{site.id}/board")
        row = nurse.locator("#chair-board tbody tr").first
        expect(row).to_contain_text("confirmed")
        expect(row.locator(".phase")).to_have_text("booked")
        row.locator("text=Open session").click()
        expect(nurse).to_have_url(re.compile(r"/sessions/\d+$"))
        sid = int(nurse.url.rsplit("/", 1)[1])
        # Chart the checklist and the dose (API), then the board updates by itself.
        with real_http.client(base_url=base, headers=w["nurse"]) as api:
            r = api.put(f"/api/v1/sessions/{sid}/checklist", json=CHECKLIST_OK)
            assert r.status_code == 200, r.text
            r = api.post(f"/api/v1/sessions/{sid}/dose", json={"given_dose_mg": 35})
            assert r.status_code == 200, r.text
        clock.set(minutes=5)
        nurse.goto(f"{base}/scheduling/sites/{site.id}/board")
        row = nurse.locator("#chair-board tbody tr").first
        expect(row.locator(".phase")).to_have_text("dosing")
        expect(row.locator(".next-due")).to_contain_text("During infusion (due) at 04:10")
        # 40 min on, the page (not reloaded) shows the end-of-infusion BP as due.
        clock.set(minutes=41)
        expect(row.locator(".next-due")).to_have_text(
            "End of infusion (due) at 04:40", timeout=15000
        )
        expect(row.locator(".alerts")).to_contain_text("During infusion overdue")
