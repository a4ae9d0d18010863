"""End to end in headless Chromium with an injected clock: a nurse charts an esketamine
session on the tablet page (partial updates, no reloads, no CSP violations); discharge is
refused at 1 h 59 min after the last device with the reasons shown, allowed at 2 h once the
conditions hold; the session is signed and its REMS export holds the fields."""

from __future__ import annotations

import csv
import io
import json
import urllib.request

import pytest
from fastapi import FastAPI
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy.orm import Session

from ketacare.domain.sessions.rems import PMF_FIELDS
from tests.browser import live_server, require_chromium, shared_chromium, sign_in
from tests.sessions.support import install_clock, setup

pytestmark = pytest.mark.browser


def _step(page: Page, button: str) -> None:
    """Click a step's button and wait for the partial update."""
    before = page.evaluate("document.body.getAttribute('data-updated') || ''")
    page.click(button)
    page.wait_for_function(
        "(b) => (document.body.getAttribute('data-updated') || '') !== b", arg=before
    )


def _select(page: Page, form: str, name: str, value: str) -> None:
    page.select_option(f'{form} [name="{name}"]', value)


def test_nurse_charts_an_esketamine_session(app: FastAPI, db: Session) -> None:
    require_chromium()
    w = setup(db)
    clock = install_clock(app)
    csp_errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if "Content Security Policy" in msg.text or "Refused to" in msg.text:
            csp_errors.append(msg.text)

    with live_server(app) as base, shared_chromium() as browser:
        context = browser.new_context(viewport={"width": 1024, "height": 1366})  # tablet
        page = context.new_page()
        page.on("console", on_console)
        sign_in(page, base, w["nurse_email"], f"/patients/{w['patient_id']}")
        page.click("#link-sessions")
        page.fill("#lot", "LOT-77")
        page.click("#start")
        expect(page.locator("h1")).to_contain_text("Session #")
        sid = int(page.url.rsplit("/", 1)[1])
        page.evaluate("window.__noReload = true")

        # pre-dose checklist (partial update), scales and the dose
        for name, value in (
            ("systolic", "130"),
            ("diastolic", "80"),
            ("heart_rate", "72"),
            ("spo2", "98"),
            ("last_food_at_min_ago", "180"),
            ("last_liquid_at_min_ago", "60"),
        ):
            page.fill(f"#checklist-form [name={name}]", value)
        _select(page, "#checklist-form", "pregnancy_test", "negative")
        _select(page, "#checklist-form", "rems_enrolled", "yes")
        page.check("#f-transport_arranged")
        page.check("#f-assessments_reviewed")
        _step(page, "#save-checklist")
        expect(page.locator("#predose h2")).to_contain_text("complete")
        _step(page, "#add-moaas")
        _step(page, "#add-cadss")
        page.fill("#dose-form [name=given_dose_mg]", "56")
        _step(page, "#record-dose")
        expect(page.locator("#dose-given")).to_contain_text("56 mg (2 devices)")

        # vitals at 40 min (flagged rise) and before discharge; scales before discharge
        clock.set(minutes=40)
        for name, value in (("systolic", "172"), ("diastolic", "100"), ("spo2", "97")):
            page.fill(f"#vitals-form [name={name}]", value)
        _step(page, "#add-vitals")
        expect(page.locator("#vitals-table")).to_contain_text("vitals.sbp_rise")
        expect(page.locator("#session-chart svg")).to_be_visible()
        clock.set(minutes=110)
        for name, value in (("systolic", "128"), ("diastolic", "80"), ("spo2", "98")):
            page.fill(f"#vitals-form [name={name}]", value)
        _step(page, "#add-vitals")
        _select(page, "#moaas-form", "timepoint", "discharge")
        _step(page, "#add-moaas")
        _select(page, "#cadss-form", "timepoint", "discharge")
        _step(page, "#add-cadss")

        # the clinician signs the discharge assessment (API)
        req = urllib.request.Request(
            f"{base}/api/v1/sessions/{sid}/discharge-approval",
            method="POST",
            headers=w["clinician"],
        )
        with urllib.request.urlopen(req) as resp:
            assert json.load(resp)["session"]["clinician_approved_at"]

        # last device at T0 + 5 min: 1 h 59 min later discharge is refused with the reason
        clock.set(minutes=5 + 119)
        page.click("#signing")  # any click; the next step refreshes the gate
        _step(page, "#discharge-button")
        expect(page.locator("#form-errors")).to_contain_text("discharge.esk.min_time")
        expect(page.locator("#form-errors")).to_contain_text("1 min 0 s left")
        expect(page.locator("#discharge-unmet tbody tr")).to_have_count(1)
        expect(page.locator("#session-status")).to_have_text("open")

        clock.set(minutes=5 + 120)
        _step(page, "#discharge-button")
        expect(page.locator("#session-status")).to_have_text("discharged")

        # REMS form, then sign (read-only) and export
        typed = {
            "monitor_name": "Nina Nurse",
            "monitor_phone": "555 0100",
            "setting_address": "1 Clinic Way",
            "ready_to_leave_min": "90",
        }
        for key, value in typed.items():
            page.fill(f"#rems-{key}", value)
        for key in ("first_treatment", "enrolled", "vitals_ok_before", "vitals_ok_end"):
            page.select_option(f"#rems-{key}", "yes")
        for key in (
            "conmed_benzodiazepines",
            "conmed_sedative_hypnotics",
            "conmed_psychostimulants",
            "conmed_maois",
            "conmed_opioids",
            "respiratory_depression",
        ):
            page.select_option(f"#rems-{key}", "no")
        _step(page, "#save-rems")
        expect(page.locator("#rems-missing")).to_have_count(0)
        _step(page, "#sign-button")
        expect(page.locator("#session-status")).to_have_text("signed")
        expect(page.locator("#locked")).to_be_visible()
        assert page.evaluate("window.__noReload === true")  # every step without a reload

        response = page.request.get(f"{base}/sessions/{sid}/rems.csv")
        assert response.status == 200
        rows = {r["field"]: r["value"] for r in csv.DictReader(io.StringIO(response.text()))}
        assert set(rows) == {f.id for f in PMF_FIELDS}
        assert rows["lot_number"] == "LOT-77" and rows["dose"] == "56 mg"
        assert rows["bp_pre"] == "130/80" and rows["bp_40min"] == "172/100"
        assert rows["bp_end"] == "128/80" and rows["duration_min"] == "125"
        assert rows["monitor_phone"] == "555 0100" and rows["sedation"] == "no"
        pdf = page.request.get(f"{base}/sessions/{sid}/rems.pdf")
        assert pdf.status == 200 and pdf.body().startswith(b"%PDF")
    assert csp_errors == []
