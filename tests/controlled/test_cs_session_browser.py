"""Issue 18's Chromium test, through the pages a user takes: a nurse receives a box of vials,
charts an IV session on its (JavaScript) page, draws for it from the session's controlled-
substance panel, administers the charted dose and wastes the remainder with a witness who
re-authenticates; the session signs only once the ledger balances; an admin prints the
day's log (the patient's name and address beside each administration) and a biennial
inventory that lists the remaining stock exactly."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.controlled import service
from ketacare.features.controlled.models import CsContainer, CsInventory
from ketacare.features.intake import plans
from ketacare.features.intake import service as intake
from ketacare.features.patients import service as patients
from ketacare.features.sessions.models import TreatmentSession
from tests.browser import live_server, require_chromium, shared_chromium, sign_in
from tests.conftest import PASSWORD, make_clinic, make_user
from tests.controlled.support import CS, DEA, valid_dea
from tests.intake_app.intake_support import example, make_patient
from tests.sessions.support import T0, install_clock

pytestmark = pytest.mark.browser
DAY = "2025-03-03"  # T0 (09:00 UTC) is 04:00 on this day in the clinic (America/New_York)


def _world(db: Session) -> dict[str, Any]:
    """A clinic with a DEA registration; nurse, clinician (the witness), admin; a 95-kg
    patient with an address and an IV plan (47.5 mg at 0.5 mg/kg)."""
    clinic = make_clinic(db)
    nurse = make_user(db, clinic, Role.nurse)
    clinician = make_user(db, clinic, Role.clinician)
    admin = make_user(db, clinic, Role.admin)
    patient = make_patient(db, clinic)
    patients.update_address(
        db, Actor.for_user(clinician, "page"), patient, T0, address_line="12 Elm St",
        city="Nashville", state="TN", postal_code="37201",
    )  # fmt: skip
    doc = example()
    doc["demographics"] = dict(doc["demographics"], weight_kg=95)
    intake.save_intake(db, clinician, patient, doc, "")
    plans.create_plan(db, clinician, patient, plans.PlanInput("iv-ketamine-induction", DAY))
    service.create_registration(
        db, Actor.for_user(clinician, "page"), CS, T0, site_name="Main", dea_number=DEA,
        address="1 Main St", registrant="Dr A", expires_on=date(2028, 1, 31),
    )  # fmt: skip
    out = {
        "nurse": nurse.email, "clinician": clinician.email, "admin": admin.email,
        "patient_id": patient.id, "name": patient.display_name,
    }  # fmt: skip
    db.commit()
    return out


def _step(page: Page, button: str) -> None:
    """Click a session step's button and wait for its fetch() round trip."""
    before = page.evaluate("document.body.getAttribute('data-updated') || ''")
    page.click(button)
    page.wait_for_function(
        "(b) => (document.body.getAttribute('data-updated') || '') !== b", arg=before
    )


def _event(page: Page, kind: str, mg: str, **fields: str) -> None:
    page.select_option("#e-kind", kind)
    page.fill("#e-qty_mg", mg)
    for name, value in fields.items():
        page.fill(f"#e-{name}", value)
    page.click("#record-event")


def test_nurse_charts_an_iv_session_against_the_ledger_and_admin_prints_the_records(
    app: FastAPI, db: Session
) -> None:
    require_chromium()
    w = _world(db)
    clock = install_clock(app)
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page(viewport={"width": 1024, "height": 1366})
        sign_in(page, base, w["nurse"], None)

        # a box of five 500 mg vials, received yesterday evening
        page.goto(f"{base}/cs")
        for name, value in (
            ("invoice_number", "INV-300"), ("supplier_name", "Pharma Supply Co"),
            ("supplier_address", "9 Depot Rd, Memphis TN"),
            ("supplier_dea", valid_dea("PS", "765432")), ("received_at", "2025-03-02T17:30"),
            ("ndc", "0409-2051-05"), ("product", "Ketamine HCl 50 mg/mL, 10 mL vial"),
            ("container_mg", "500"), ("concentration_mg_ml", "50"), ("lot", "LOT300"),
            ("expiry", "2027-06-30"), ("containers", "5"),
        ):  # fmt: skip
            page.fill(f"#r-{name}", value)
        page.click("#receive")
        expect(page.locator("#containers tbody tr")).to_have_count(5)

        # the IV session on its JavaScript page: checklist, then the ledger panel
        page.goto(f"{base}/patients/{w['patient_id']}/sessions")
        page.click("#start")
        expect(page.locator("h1")).to_contain_text("Session #")
        sid = int(page.url.rsplit("/", 1)[1])
        for name, value in (("systolic", "128"), ("diastolic", "80"), ("heart_rate", "72"),
                            ("spo2", "98"), ("last_food_at_min_ago", "240"),
                            ("last_liquid_at_min_ago", "120")):  # fmt: skip
            page.fill(f'#checklist-form [name="{name}"]', value)
        page.select_option('#checklist-form [name="pregnancy_test"]', "negative")
        page.check("#f-transport_arranged")
        page.check("#f-assessments_reviewed")
        _step(page, "#save-checklist")
        expect(page.locator("#predose h2")).to_contain_text("complete")
        expect(page.locator("#cs-no-draws")).to_be_visible()

        # draw 50 mg for the session from the panel's first vial
        page.locator("#cs-stock a.cs-draw-from").first.click()
        expect(page.locator("#e-session_id")).to_have_value(str(sid))
        _event(page, "draw", "50")
        expect(page.locator("#balance")).to_have_text("450.0 mg")
        page.click("#back-to-session")
        expect(page.locator("#cs-draws tbody tr")).to_have_count(1)
        expect(page.locator("#cs-draws")).to_contain_text("50 mg")

        # the charted dose (47.5 mg planned and given), scales, vitals, discharge
        expect(page.locator("#f-given_dose_mg")).to_have_value("47.5")
        page.evaluate("window.__noReload = true")
        _step(page, "#record-dose")
        expect(page.locator("#dose-given")).to_contain_text("47.5 mg")
        _step(page, "#add-moaas")
        _step(page, "#add-cadss")
        clock.set(minutes=75)
        for name, value in (("systolic", "126"), ("diastolic", "80"), ("spo2", "98")):
            page.fill(f'#vitals-form [name="{name}"]', value)
        _step(page, "#add-vitals")
        page.select_option("#f-moaas-timepoint", "discharge")
        _step(page, "#add-moaas")
        page.select_option("#f-cadss-timepoint", "discharge")
        _step(page, "#add-cadss")
        desk = browser.new_page()
        sign_in(desk, base, w["clinician"], f"/sessions/{sid}")
        desk.evaluate("window.__noReload = true")
        _step(desk, "#approve-discharge")
        page.reload()
        _step(page, "#discharge-button")
        expect(page.locator("#session-status")).to_have_text("discharged")

        # administered 47.5 mg of the draw: 2.5 mg outstanding, so the session will not sign
        page.locator("#cs-draws a").first.click()
        _event(page, "administer", "47.5")
        expect(page.locator("#open-draws")).to_contain_text("2.5 mg outstanding")
        page.click("#back-to-session")
        _step(page, "#sign-button")
        expect(page.locator("#form-errors")).to_contain_text("CS-CHART-DRAW")
        expect(page.locator("#session-status")).to_have_text("discharged")

        # the remainder is wasted: refused without a witness, then the witness signs with
        # their own password at the moment of waste
        page.locator("#cs-draws a").first.click()
        _event(page, "waste", "2.5", method="Rx Destroyer")
        expect(page.locator("#form-errors")).to_contain_text("CS-WIT")
        _event(page, "waste", "2.5", method="Rx Destroyer", witness_email=w["clinician"],
               witness_password="wrong password")  # fmt: skip
        expect(page.locator("#form-errors")).to_contain_text("witness_password")
        _event(page, "waste", "2.5", method="Rx Destroyer", witness_email=w["clinician"],
               witness_password=PASSWORD)  # fmt: skip
        expect(page.locator("#open-draws")).to_have_count(0)
        expect(page.locator("#ledger tbody tr").last).to_contain_text(w["clinician"])
        expect(page.locator("#balance")).to_have_text("450.0 mg")
        page.click("#back-to-session")
        expect(page.locator("#cs-draws")).to_contain_text("settled")
        page.evaluate("window.__noReload = true")
        _step(page, "#sign-button")
        expect(page.locator("#session-status")).to_have_text("signed")
        assert page.evaluate("window.__noReload === true")

        # the admin prints the day's log and takes the biennial inventory
        office = browser.new_page()
        sign_in(office, base, w["admin"], "/cs")
        office.get_by_role("link", name="last 7 days").click()
        office.fill("#start", DAY)
        office.fill("#end", DAY)
        office.click("#log-show")
        log = office.locator("#log tbody")
        expect(log.locator("tr")).to_have_count(3)  # draw, administer, waste
        expect(log.locator("tr").nth(1)).to_contain_text(w["name"])
        expect(log.locator("tr").nth(1)).to_contain_text("12 Elm St, Nashville, TN 37201")
        expect(log.locator("tr").nth(2)).to_contain_text(w["clinician"])
        with office.expect_download() as pdf:
            office.click("#log-pdf")
        assert pdf.value.path().read_bytes().startswith(b"%PDF")
        with office.expect_download() as got:
            office.click("#log-csv")
        rows = list(csv.DictReader(io.StringIO(got.value.path().read_text())))
        assert [(r["kind"], r["qty_mg"], r["patient"], r["patient_address"], r["witness"])
                for r in rows] == [
            ("draw", "50.0", w["name"], "12 Elm St, Nashville, TN 37201", ""),
            ("administer", "47.5", w["name"], "12 Elm St, Nashville, TN 37201", ""),
            ("waste", "2.5", w["name"], "12 Elm St, Nashville, TN 37201", w["clinician"]),
        ]  # fmt: skip

        office.goto(f"{base}/cs")
        office.select_option("#i-kind", "biennial")
        office.select_option("#i-timing", "close")
        office.click("#take-inventory")
        lines = office.locator("#inventory-lines tbody tr")
        expect(lines).to_have_count(5)
        balances = [lines.nth(i).locator("td").nth(9).inner_text() for i in range(5)]
        assert sorted(balances) == ["450.0", "500.0", "500.0", "500.0", "500.0"]
        with office.expect_download() as inv_pdf:
            office.click("#inventory-pdf")
        assert inv_pdf.value.path().read_bytes().startswith(b"%PDF")

    db.expire_all()
    s = db.get(TreatmentSession, sid)
    assert s is not None and s.status.value == "signed" and s.given_dose_mg == 47.5
    stock = db.execute(select(CsContainer.balance_ug).order_by(CsContainer.label)).scalars()
    (inv,) = db.execute(select(CsInventory)).scalars()
    assert [line["balance_ug"] for line in inv.lines] == list(stock)
    db.commit()
