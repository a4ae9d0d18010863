"""In headless Chromium: a nurse receives a box of vials on the dashboard, draws from one,
administers and wastes the rest with a witness who signs with their password (issue 18)."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi import FastAPI
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.controlled import service
from tests.browser import live_server, require_chromium, shared_chromium, sign_in
from tests.conftest import PASSWORD, make_clinic, make_user
from tests.controlled.support import CS, DEA, T0, valid_dea

pytestmark = pytest.mark.browser


def test_nurse_receives_draws_administers_and_wastes_with_a_witness(
    app: FastAPI, db: Session
) -> None:
    require_chromium()
    clinic = make_clinic(db)
    nurse = make_user(db, clinic, Role.nurse)
    clinician = make_user(db, clinic, Role.clinician)
    service.create_registration(
        db, Actor.for_user(clinician, "page"), CS, T0, site_name="Main", dea_number=DEA,
        address="1 Main St", registrant="Dr A", expires_on=date(2028, 1, 31),
    )  # fmt: skip
    nurse_email, witness_email = nurse.email, clinician.email
    db.commit()
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page()
        sign_in(page, base, nurse_email, "/cs")
        for name, value in (
            ("invoice_number", "INV-55"),
            ("supplier_name", "Pharma Supply Co"),
            ("supplier_address", "9 Depot Rd, Memphis TN"),
            ("supplier_dea", valid_dea("PS", "765432")),
            ("received_at", "2026-03-02T09:00"),
            ("ndc", "0409-2051-05"),
            ("product", "Ketamine HCl 50 mg/mL, 10 mL vial"),
            ("container_mg", "500"),
            ("concentration_mg_ml", "50"),
            ("lot", "LOT55"),
            ("expiry", "2027-06-30"),
            ("containers", "5"),
        ):
            page.fill(f"#r-{name}", value)
        page.click("#receive")
        expect(page.locator("#containers tbody tr")).to_have_count(5)
        page.locator("#containers tbody tr a").first.click()
        expect(page.locator("#balance")).to_have_text("500.0 mg")

        page.select_option("#e-kind", "draw")
        page.fill("#e-qty_mg", "40")
        page.click("#record-event")
        expect(page.locator("#balance")).to_have_text("460.0 mg")
        page.select_option("#e-kind", "administer")
        page.fill("#e-qty_mg", "35")
        page.click("#record-event")
        expect(page.locator("#open-draws")).to_contain_text("5.0 mg outstanding")
        page.select_option("#e-kind", "waste")
        page.fill("#e-qty_mg", "5")
        page.fill("#e-method", "Rx Destroyer")
        page.click("#record-event")  # no witness: refused, with the rule
        expect(page.locator("#form-errors")).to_contain_text("CS-WIT")
        page.select_option("#e-kind", "waste")
        page.fill("#e-qty_mg", "5")
        page.fill("#e-method", "Rx Destroyer")
        page.fill("#e-witness_email", witness_email)
        page.fill("#e-witness_password", PASSWORD)
        page.click("#record-event")
        expect(page.locator("#open-draws")).to_have_count(0)
        expect(page.locator("#ledger tbody tr").last).to_contain_text(witness_email)
        expect(page.locator("#balance")).to_have_text("460.0 mg")
        # A count that finds less opens a case on the dashboard (issue 18.6: page forms).
        page.click("#count summary")
        page.fill("#n-counted_mg", "459.5")
        page.click("#record-count")
        expect(page.locator("#cases")).to_contain_text("-0.5")
        # The clinician takes the biennial inventory from the dashboard.
        desk = browser.new_page()
        sign_in(desk, base, witness_email, "/cs")
        desk.click("#take-inventory")
        expect(desk.locator("#inventory-lines tbody tr")).to_have_count(5)
        expect(desk.locator("#inventory-pdf")).to_be_visible()
