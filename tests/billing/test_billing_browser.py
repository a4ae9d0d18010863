"""End to end in headless Chromium (issue 20 tests): a clinician charts and signs an 84 mg
esketamine session of an established patient; the billing user sees G2083 suggested with its
reasons, confirms it, prints the superbill, and the prior-auth page shows one unit fewer."""

from __future__ import annotations

import json
import urllib.request
from datetime import date

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from ketacare.features.billing.models import PriorAuth
from tests.billing.support import signed, world
from tests.browser import live_server, require_chromium, shared_chromium, sign_in
from tests.conftest import api_token
from tests.sessions.support import install_clock

pytestmark = pytest.mark.browser


def _step(page: Page, button: str) -> None:
    before = page.evaluate("document.body.getAttribute('data-updated') || ''")
    page.click(button)
    page.wait_for_function(
        "(b) => (document.body.getAttribute('data-updated') || '') !== b", arg=before
    )


def test_signed_session_to_superbill_and_prior_auth(app: FastAPI, db: Session) -> None:
    require_chromium()
    w = world(db)
    signed(db, w, date(2025, 3, 3), 56)  # the first (new-patient) session, already signed
    db.add(PriorAuth(clinic_id=w.clinic.id, patient_id=w.patient.id, payer_id=w.payer.id,
                     codes="G2082,G2083", status="approved", requested_on=date(2025, 2, 20),
                     auth_number="PA-1", approved_units=6, start_date=date(2025, 3, 1),
                     end_date=date(2025, 5, 31)))  # fmt: skip
    db.commit()
    clock = install_clock(app)
    clock.set(days=3)  # 2025-03-06 09:00 UTC: the second planned session
    clinician = {"Authorization": f"Bearer {api_token(db, w.clinician)}"}
    pid, clinician_email, billing_email = w.patient.id, w.clinician.email, w.billing.email
    db.commit()

    with live_server(app) as base, shared_chromium() as browser:
        office = browser.new_context(accept_downloads=True).new_page()
        sign_in(office, base, billing_email, f"/billing/patients/{pid}")
        expect(office.locator(".prior-auth .remaining")).to_have_text("6")

        page = browser.new_context(viewport={"width": 1024, "height": 1366}).new_page()
        sign_in(page, base, clinician_email, f"/patients/{pid}/sessions")
        page.click("#start")
        expect(page.locator("h1")).to_contain_text("Session #")
        sid = int(page.url.rsplit("/", 1)[1])
        for name, value in (("systolic", "130"), ("diastolic", "80"), ("heart_rate", "72"),
                            ("spo2", "98"), ("last_food_at_min_ago", "180"),
                            ("last_liquid_at_min_ago", "60")):  # fmt: skip
            page.fill(f"#checklist-form [name={name}]", value)
        page.select_option('#checklist-form [name="pregnancy_test"]', "negative")
        page.select_option('#checklist-form [name="rems_enrolled"]', "yes")
        page.check("#f-transport_arranged")
        page.check("#f-assessments_reviewed")
        _step(page, "#save-checklist")
        _step(page, "#add-moaas")
        _step(page, "#add-cadss")
        clock.set(days=3, minutes=10)  # three devices 5 minutes apart: 09:00, 09:05, 09:10
        page.fill("#dose-form [name=given_dose_mg]", "84")
        page.fill("#dose-form [name=devices]", "3")
        page.fill("#dose-form [name=dose_start_min_ago]", "10")
        page.fill("#dose-form [name=last_device_at_min_ago]", "0")
        page.fill("#dose-form [name=lot]", "LOT-84")
        _step(page, "#record-dose")
        expect(page.locator("#dose-given")).to_contain_text("84 mg")
        clock.set(days=3, minutes=50)
        for name, value in (("systolic", "134"), ("diastolic", "82"), ("spo2", "97")):
            page.fill(f"#vitals-form [name={name}]", value)
        _step(page, "#add-vitals")
        clock.set(days=3, minutes=125)
        for name, value in (("systolic", "128"), ("diastolic", "80"), ("spo2", "98")):
            page.fill(f"#vitals-form [name={name}]", value)
        _step(page, "#add-vitals")
        page.select_option('#moaas-form [name="timepoint"]', "discharge")
        _step(page, "#add-moaas")
        page.select_option('#cadss-form [name="timepoint"]', "discharge")
        _step(page, "#add-cadss")
        req = urllib.request.Request(
            f"{base}/api/v1/sessions/{sid}/discharge-approval", method="POST", headers=clinician
        )
        with urllib.request.urlopen(req) as resp:
            assert json.load(resp)["session"]["clinician_approved_at"]
        clock.set(days=3, minutes=131)
        page.click("#signing")
        _step(page, "#discharge-button")
        expect(page.locator("#session-status")).to_have_text("discharged")
        typed = {"monitor_name": "Cora Clinician", "monitor_phone": "555 0100",
                 "setting_address": "1 Clinic Way", "ready_to_leave_min": "90"}  # fmt: skip
        for key, value in typed.items():
            page.fill(f"#rems-{key}", value)
        page.select_option("#rems-first_treatment", "no")
        for key in ("enrolled", "vitals_ok_before", "vitals_ok_end"):
            page.select_option(f"#rems-{key}", "yes")
        for key in ("conmed_benzodiazepines", "conmed_sedative_hypnotics",
                    "conmed_psychostimulants", "conmed_maois", "conmed_opioids",
                    "respiratory_depression"):  # fmt: skip
            page.select_option(f"#rems-{key}", "no")
        _step(page, "#save-rems")
        _step(page, "#sign-button")
        expect(page.locator("#session-status")).to_have_text("signed")

        # The billing user: work list -> the session -> G2083 with reasons -> confirm.
        office.goto(f"{base}/billing")
        office.click(f'#billing-sessions a[href="/billing/sessions/{sid}"]')
        expect(office.locator("#line-G2083")).to_contain_text("84 mg given: above 56 mg")
        office.click("#confirm")
        expect(office.locator("#confirmed-lines")).to_contain_text("G2083")
        with office.expect_download() as download:
            office.click("#superbill")
        pdf = download.value.path().read_bytes()
        assert pdf.startswith(b"%PDF")
        office.goto(f"{base}/billing/patients/{pid}")
        expect(office.locator(".prior-auth .used")).to_have_text("1")
        expect(office.locator(".prior-auth .remaining")).to_have_text("5")
