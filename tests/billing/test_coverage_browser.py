"""In real headless Chromium (JavaScript on, strict CSP), issue 20: the billing user adds a payer
from the nav, opens a patient's billing record, follows it to the coverage page, where the
subscriber fields appear only once the patient is not the subscriber (the page's script), adds
coverage, sees a refusal naming the field for a bad ZIP, fixes it, and edits the plan; the
clinician reads the same page without forms. axe-core finds no serious violation on the payer
and coverage pages, before and after an error."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from playwright.sync_api import ConsoleMessage, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.billing.models import Coverage
from tests.axe import assert_accessible
from tests.billing.support import world
from tests.browser import live_server, require_chromium, shared_chromium, sign_in

pytestmark = pytest.mark.browser


def test_billing_user_adds_payer_and_coverage(app: FastAPI, db: Session) -> None:
    require_chromium()
    w = world(db)
    pid, billing_email, clinician_email = w.patient.id, w.billing.email, w.clinician.email
    db.commit()
    csp_errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if "Content Security Policy" in msg.text or "Refused to" in msg.text:
            csp_errors.append(msg.text)

    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_context(viewport={"width": 1024, "height": 900}).new_page()
        page.on("console", on_console)
        sign_in(page, base, billing_email, "/billing")
        page.click('nav a[href="/billing/payers"]')
        expect(page.locator("#payers")).to_contain_text("Medicare")
        assert_accessible(page, "payers")
        page.fill("#payer-name", "Aetna")
        page.fill("#payer-payer_id", "60054")
        page.fill("#payer-place_of_service", "1")
        page.click("#payer-submit")
        expect(page.locator("#form-errors")).to_contain_text("place_of_service")
        assert_accessible(page, "payers with an error")
        page.fill("#payer-place_of_service", "11")
        page.fill("#payer-modifiers", "J0013=JZ")
        page.click("#payer-submit")
        expect(page.locator("#payers tbody tr")).to_have_count(2)
        expect(page.locator("#payers")).to_contain_text("J0013=JZ")

        page.goto(f"{base}/billing/patients/{pid}")
        page.click("#link-coverage")
        expect(page.locator("h1")).to_contain_text("Coverage")
        expect(page.locator("#coverages tbody tr")).to_have_count(1)
        form = page.locator("#coverage-form-new")
        # The script hides the subscriber's fields while the patient is the subscriber.
        expect(form.locator(".subscriber-fields")).to_be_hidden()
        form.locator('select[name="payer_id"]').select_option(label="Aetna")
        form.locator('select[name="subscriber_relationship"]').select_option("spouse")
        expect(form.locator(".subscriber-fields")).to_be_visible()
        page.fill("#new-subscriber_name", "Sam Ient")
        page.fill("#new-subscriber_birth_date", "1970-05-06")
        page.fill("#new-member_id", "XK9-000111")
        page.fill("#new-plan_name", "Choice Plus PPO")
        page.fill("#new-address", "2 Elm St")
        page.fill("#new-city", "Boston")
        page.fill("#new-state", "MA")
        page.fill("#new-postal_code", "0211")
        page.fill("#new-start_date", "2025-01-01")
        page.check("#new-primary")
        page.click("#new-submit")
        expect(page.locator("#form-errors")).to_contain_text("postal_code")
        assert_accessible(page, "coverage with an error")
        # The form kept what was typed, the subscriber's fields still shown.
        expect(page.locator("#new-subscriber_name")).to_have_value("Sam Ient")
        expect(page.locator("#coverage-form-new .subscriber-fields")).to_be_visible()
        page.fill("#new-postal_code", "02110")
        page.click("#new-submit")
        rows = page.locator("#coverages tbody tr")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text("Aetna")
        expect(rows.first).to_contain_text("Sam Ient (spouse, born 1970-05-06)")
        expect(rows.nth(1)).to_contain_text("Medicare")
        assert_accessible(page, "coverage")

        # Edit the new coverage's plan in its disclosure.
        aetna = page.locator("details", has_text="Change Aetna")
        aetna.locator("summary").click()
        aetna.locator('input[name="plan_name"]').fill("Open Access")
        aetna.locator('button[type="submit"]').click()
        expect(page.locator("#coverages tbody tr").first).to_contain_text("Open Access")

        reader = browser.new_context().new_page()
        reader.on("console", on_console)
        sign_in(reader, base, clinician_email, f"/billing/patients/{pid}/coverage")
        expect(reader.locator("#coverages")).to_contain_text("Open Access")
        expect(reader.locator("form.coverage-form")).to_have_count(0)
    assert csp_errors == []
    plans = db.scalars(select(Coverage.plan_name).order_by(Coverage.id)).all()
    assert plans == ["", "Open Access"]
    db.commit()
