"""Headless Chromium: the clinic analytics page and the patient report page render their
server-side SVG charts under the page CSP (no violations) and show the synthetic label."""

from __future__ import annotations

import pytest
from fastapi import FastAPI
from playwright.sync_api import ConsoleMessage, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from ketacare.features.patients.models import Patient
from ketacare.settings import Settings
from tests.browser import live_server, require_chromium, shared_chromium, sign_in
from tests.conftest import make_user
from tests.reports.support import small_clinic

pytestmark = pytest.mark.browser


def test_analytics_and_patient_report_pages(app: FastAPI, db: Session, settings: Settings) -> None:
    require_chromium()
    clinic, _ = small_clinic(db, settings, n=8, seed=31)
    email = make_user(db, clinic, Role.clinician).email
    pid = int(db.execute(select(Patient.id).order_by(Patient.id).limit(1)).scalar_one())
    db.commit()
    csp: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if "Content Security Policy" in msg.text or "Refused to" in msg.text:
            csp.append(msg.text)

    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.on("console", on_console)
        sign_in(page, base, email, "/analytics?synthetic=include")
        expect(page.locator("h1")).to_have_text("Clinic outcomes")
        expect(page.locator("#synthetic-banner")).to_contain_text("synthetic")
        page.click("#details > summary")  # the charts are in the collapsed details (21.3)
        for chart in ("#chart-rates svg", "#chart-km svg"):
            box = page.locator(chart).bounding_box()
            assert box is not None and box["width"] > 300 and box["height"] > 150, chart
        # the bars and the curve are drawn (presentation attributes survive the CSP)
        fill = page.eval_on_selector(
            "#chart-rates g[id^='bar-response'] path", "e => getComputedStyle(e).fill"
        )
        assert fill not in ("", "none", "rgb(0, 0, 0)")
        expect(page.locator("#rates tbody tr")).to_have_count(5)
        expect(page.locator("#published")).to_contain_text("Oliver 2022")
        page.select_option("#instrument", "madrs")
        page.click("#analytics-filter button[type=submit]")
        # no MADRS in the synthetic clinic: treated patients, none with a baseline, no curve
        expect(page.locator("#headline")).to_contain_text("0 with a baseline")
        expect(page.locator("#chart-km svg")).to_have_count(0)

        page.goto(f"{base}/patients/{pid}/report")
        expect(page.locator("h1")).to_contain_text("(synthetic)")
        expect(page.locator("#classification")).not_to_be_empty()
        box = page.locator("#chart-trajectory svg").bounding_box()
        assert box is not None and box["width"] > 300
        expect(page.locator("#sessions tbody tr").first).to_be_visible()
        with page.expect_download() as download:
            page.click("#patient-pdf")
        assert download.value.suggested_filename == f"patient-{pid}-progress.pdf"
    assert csp == []
