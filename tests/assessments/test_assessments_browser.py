"""End to end in real headless Chromium: a clinician schedules a PHQ-9, the patient answers
through the emailed one-time link with item 9 = 2, the alert appears on the dashboard and the
clinician acknowledges it with a note. And a QIDS-SR16 link of a clinic that loaded licensed
item text (placeholder wording) shows that text to the patient."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.assessments.models import Alert, AlertAction, Assessment
from ketacare.features.instruments import texts
from ketacare.settings import Settings
from ketacare.web.app import create_app
from tests.assessments.support import PHQ9_ITEM9_2, body_text, smtp_server, staff
from tests.browser import live_server, require_chromium, screenshot_path, shared_chromium, sign_in

SCREENSHOT = screenshot_path("alert-dashboard.png")
pytestmark = pytest.mark.browser


def test_schedule_link_alert_acknowledge(db: Session, settings: Settings) -> None:
    require_chromium()
    st = staff(db)
    with smtp_server() as smtp:
        cfg = settings.model_copy(
            update={"notifier": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                    "smtp_tls": "none", "public_url": "https://clinic.example"}
        )  # fmt: skip
        app = create_app(cfg)
        with live_server(app) as base, shared_chromium() as browser:
            staff_page = browser.new_page(viewport={"width": 1000, "height": 1200})
            sign_in(staff_page, base, st.email, f"/patients/{st.pid}")
            staff_page.click("text=Assessments")
            staff_page.select_option("#instrument_id", "phq9")
            staff_page.select_option("#recurrence", "once")
            staff_page.fill("#start_date", utcnow().date().isoformat())
            staff_page.click("#create-schedule")
            expect(staff_page.locator("#schedule-list")).to_contain_text("PHQ-9")

            (mail,) = smtp.wait(1)
            link = re.search(r"https://clinic\.example(/a/\S+)", body_text(mail))
            assert link and "Robin" not in body_text(mail)
            url = base + link.group(1)  # the mail names the public URL; the test serves it here

            patient = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            patient.goto(url)
            expect(patient.locator("h1")).to_contain_text("PHQ-9")
            for i, value in enumerate(PHQ9_ITEM9_2, start=1):
                patient.check(f'input[name="item_{i}"][value="{value}"]')
            patient.check('input[name="item_10"][value="1"]')
            patient.click("#submit-answers")
            expect(patient.locator("#thanks")).to_be_visible()
            expect(patient.locator("#crisis-panel")).to_contain_text("988")
            patient.goto(url)
            expect(patient.locator("#link-gone")).to_contain_text("already been used")

            staff_page.click("nav >> text=Alerts")
            card = staff_page.locator("#open-alerts article").first
            expect(card).to_contain_text("PHQ-9 item 9")
            expect(card).to_contain_text("Example, Robin")
            if cfg.database_url.startswith("sqlite"):
                staff_page.screenshot(path=str(SCREENSHOT), full_page=False)
            card.locator("textarea").fill("Called the patient; safety plan reviewed.")
            card.locator("button").click()
            expect(staff_page.locator("#no-open-alerts")).to_be_visible()
            expect(staff_page.locator("#done-alerts")).to_contain_text("safety plan reviewed")
            expect(staff_page.locator("#done-alerts")).to_contain_text(st.email)
    alert = db.execute(select(Alert)).scalar_one()
    actions = db.execute(select(AlertAction.action).order_by(AlertAction.id)).scalars().all()
    db.commit()
    assert alert.rule_id == "phq9.item9" and alert.status.value == "acknowledged"
    assert list(actions) == ["created", "acknowledged"]


def test_link_of_an_instrument_with_clinic_loaded_text(db: Session, settings: Settings) -> None:
    require_chromium()
    st = staff(db)
    wording = {str(i): f"Clinic-licensed wording for item {i}" for i in range(1, 17)}
    texts.load_text(db, st.clinic_id, "qids-sr16", wording, "Test licence 1")
    db.commit()
    with smtp_server() as smtp:
        cfg = settings.model_copy(
            update={"notifier": "smtp", "smtp_host": "127.0.0.1", "smtp_port": smtp.port,
                    "smtp_tls": "none", "public_url": "https://clinic.example"}
        )  # fmt: skip
        with live_server(create_app(cfg)) as base, shared_chromium() as browser:
            staff_page = browser.new_page()
            sign_in(staff_page, base, st.email, f"/patients/{st.pid}/assessments")
            staff_page.select_option("#instrument_id", "qids-sr16")
            staff_page.select_option("#recurrence", "once")
            staff_page.fill("#start_date", utcnow().date().isoformat())
            staff_page.click("#create-schedule")
            expect(staff_page.locator("#schedule-list")).to_contain_text("QIDS-SR16")

            (mail,) = smtp.wait(1)
            link = re.search(r"https://clinic\.example(/a/\S+)", body_text(mail))
            assert link
            patient = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            patient.goto(base + link.group(1))
            expect(patient.locator("h1")).to_contain_text("QIDS-SR16")
            expect(patient.locator("#q-1 legend")).to_have_text(
                "1. Clinic-licensed wording for item 1"
            )
            expect(patient.locator("#q-16 legend")).to_have_text(
                "16. Clinic-licensed wording for item 16"
            )
            for i in range(1, 17):
                patient.check(f'input[name="item_{i}"][value="1"]')
            patient.click("#submit-answers")
            expect(patient.locator("#thanks")).to_be_visible()
    row = db.execute(select(Assessment)).scalar_one()
    db.commit()
    assert row.instrument_id == "qids-sr16" and row.total == 9
