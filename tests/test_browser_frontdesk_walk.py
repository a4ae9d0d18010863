"""Issue 17's Chromium walk with the front-desk role, JavaScript on, on SQLite and PostgreSQL
(the ``app`` fixture runs both): a ``frontdesk`` user books a 6-session IV course with the
booking page's script; the reminder job sends the 48-hour reminder through the SMTP adapter to
a local SMTP server, and the patient confirms with the link taken from that e-mail; the front
desk's home and read-only board show the confirmation; the nurse sees it on the live chair
board, opens the session from the board, and the board (not reloaded) shows the blood pressure
due at 40 minutes. Time is the app's settable clock (``tests/sessions/support.install_clock``).
axe-core checks the front desk's pages on the way."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ketacare.db.engine import session_factory
from ketacare.domain.course.booking import StaffRole
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from ketacare.features.outreach.notify import SmtpNotifier
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling import reminders, service
from ketacare.settings import Settings
from tests import real_http
from tests.axe import assert_accessible
from tests.browser import live_server, log_in, require_chromium, shared_chromium
from tests.conftest import make_user
from tests.scheduling.support import at, smtp_server
from tests.scheduling.test_scheduling_api import START
from tests.sessions.support import CHECKLIST_OK, T0, install_clock, setup

pytestmark = pytest.mark.browser


def _login(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    log_in(page, base, email)


@pytest.mark.long
def test_front_desk_books_patient_confirms_by_reminder_nurse_opens_from_board(
    app: FastAPI, db: Session, engine: Engine, settings: Settings
) -> None:
    require_chromium()
    clock = install_clock(app, T0)
    clock.set(days=-2)  # Saturday 2025-03-01 09:00 UTC: the desk books two days ahead
    w = setup(db, "iv")
    clinic = db.get(Clinic, w["clinic_id"])
    assert clinic is not None
    clinic.timezone = "America/New_York"
    desk = make_user(db, clinic, Role.frontdesk)
    desk_email = desk.email
    actor = Actor.cli(clinic.id)
    site = service.create_site(db, actor, clinic.id, "Main", "mon-fri 08:00-18:00", True)
    site_id = site.id
    for name in ("Chair 1", "Chair 2"):
        service.add_chair(db, actor, site, name)
    for d in range(35):
        day = START + timedelta(days=d)
        service.add_shift(db, actor, site, "Nurse", StaffRole.nurse, at(day, 8), at(day, 18))
    pid = w["patient_id"]
    record = db.get(Patient, pid)
    assert record is not None
    record.email = "ada.lee@example.org"  # the reminder goes by e-mail
    db.commit()
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        assert page.evaluate("() => typeof fetch") == "function"  # the JavaScript path
        _login(page, base, desk_email)
        expect(page).to_have_url(f"{base}/home")
        expect(page.locator("#home-desk-today")).to_contain_text("No bookings today")
        assert_accessible(page, "front desk home (empty)")
        # The header offers the front desk no clinical page.
        header = page.locator('nav[aria-label="Main"]')
        for clinical in ("/today", "/alerts", "/overdue", "/analytics", "/rems", "/cs"):
            expect(header.locator(f'a[href="{clinical}"]')).to_have_count(0)

        # Demographics only on the patient page, then the course form and its script.
        page.goto(f"{base}/patients/{pid}")
        expect(page.locator("#h-identity")).to_have_text("Demographics")
        expect(page.locator("#action-chart-session")).to_have_count(0)
        assert_accessible(page, "front desk patient page")
        page.click("#action-bookings")
        page.fill('input[name="earliest"]', "10:00")
        expect(page.locator("#book-course-button")).to_be_hidden()
        page.click("#find-slots")
        slots = page.locator("#proposed-slots li")
        expect(slots).to_have_count(6)
        expect(slots.nth(0)).to_contain_text("2025-03-03 10:00")
        page.click("#book-course-button")
        expect(page.locator("#bookings tbody tr")).to_have_count(6)
        expect(page.locator("#bookings")).to_contain_text("not confirmed")
        page.goto(f"{base}/home")
        expect(page.locator("#home-desk-unconfirmed tbody tr").first).to_contain_text(
            "not confirmed"
        )
        expect(page.locator("#home-desk-unconfirmed")).to_contain_text("2025-03-03 10:00")
        assert_accessible(page, "front desk home (bookings)")

        # The reminder job, 47 h before the first visit: the 48-hour e-mail goes out.
        with smtp_server() as (port, sink):
            notifier = SmtpNotifier("127.0.0.1", port, "clinic@x.example", tls="none")
            run_at = clock.set(days=-2, hours=7)  # 2025-03-01 16:00 UTC
            report = reminders.send_due(session_factory(engine), settings, run_at, notifier)
            assert len(report.sent) == 1 and not report.failed, report
            assert len(sink.messages) == 1
        mail = sink.messages[0].decode()
        assert "Main" in mail and "ketamine" not in mail.lower()
        found = re.search(r"/b/([A-Za-z0-9_\-]+)", mail)
        assert found is not None, mail
        link = f"{base}/b/{found.group(1)}"

        # The patient (no account) opens the e-mailed link, acknowledges, confirms.
        patient = browser.new_context().new_page()
        patient.goto(link)
        expect(patient.locator("#visit")).to_contain_text("10:00")
        patient.check('input[name="instructions"]')
        patient.click("text=Confirm my visit")
        expect(patient.locator("#visit-status")).to_have_text("confirmed")

        # Monday, 04:00 clinic time: the desk's board is read-only and shows the confirmation.
        clock.set()
        _login(page, base, desk_email)  # two days on: the login session has expired
        page.goto(f"{base}/scheduling/sites/{site_id}/board")
        desk_row = page.locator("#chair-board tbody tr").first
        expect(desk_row).to_contain_text("confirmed")
        expect(desk_row.locator("button, a")).to_have_count(0)
        assert_accessible(page, "front desk chair board")
        page.goto(f"{base}/home")
        expect(page.locator("#home-desk-today")).to_contain_text("confirmed")

        # The nurse sees the confirmation on the live board and opens the session from it.
        nurse = browser.new_context().new_page()
        _login(nurse, base, w["nurse_email"])
        nurse.goto(f"{base}/scheduling/sites/{site_id}/board")
        row = nurse.locator("#chair-board tbody tr").first
        expect(row).to_contain_text("confirmed")
        expect(row.locator(".phase")).to_have_text("booked")
        row.locator("text=Open session").click()
        expect(nurse).to_have_url(re.compile(r"/sessions/\d+$"))
        sid = int(nurse.url.rsplit("/", 1)[1])
        # The patient's confirmation shows in the pre-dose checklist as patient-reported.
        expect(nurse.locator("body")).to_contain_text("confirmed the visit")
        with real_http.client(base_url=base, headers=w["nurse"]) as api:
            r = api.put(f"/api/v1/sessions/{sid}/checklist", json=CHECKLIST_OK)
            assert r.status_code == 200, r.text
            r = api.post(f"/api/v1/sessions/{sid}/dose", json={"given_dose_mg": 35})
            assert r.status_code == 200, r.text
        clock.set(minutes=5)
        nurse.goto(f"{base}/scheduling/sites/{site_id}/board")
        row = nurse.locator("#chair-board tbody tr").first
        expect(row.locator(".phase")).to_have_text("dosing")
        # 41 minutes after the dose began (04:00), without a reload: the BP at 40 min is due.
        clock.set(minutes=41)
        expect(row.locator(".next-due")).to_have_text(
            "End of infusion (due) at 04:40", timeout=15000
        )
        # The desk's board (read-only) follows the phase: the infusion ended at 40 min.
        page.goto(f"{base}/scheduling/sites/{site_id}/board")
        expect(page.locator("#chair-board tbody tr").first.locator(".phase")).to_have_text(
            "monitoring"
        )
        expect(page.locator("#chair-board tbody tr").first.locator("a, button")).to_have_count(0)
