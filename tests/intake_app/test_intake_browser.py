"""End to end in real headless Chromium: a clinician logs in, opens a patient, fills the
intake, reads the assessment with its reasons, creates a treatment plan and sees the calendar
and the PK chart (no Content-Security-Policy violations), and downloads the calendar."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from ketacare.features.intake import service
from ketacare.features.intake.models import TreatmentPlan
from tests.browser import live_server, require_chromium, screenshot_path, shared_chromium, sign_in
from tests.conftest import count, make_clinic, make_user
from tests.intake_app.intake_support import example, make_patient

SCREENSHOT = screenshot_path("treatment-plan.png")
pytestmark = pytest.mark.browser

NO = (
    "aneurysmal_vascular_disease",
    "arteriovenous_malformation",
    "intracerebral_haemorrhage",
    "cardiac_disease",
    "hepatic_impairment",
    "pregnant_or_lactating",
    "psychotic_disorder",
    "mania_or_hypomania",
    "substance_use_disorder",
    "maoi",
    "psychostimulant",
    "ketamine_hypersensitivity",
    "hypertension",
)
TRIALS = (
    ("sertraline", "ssri", "150", "8", "no_response"),
    ("venlafaxine", "snri", "225", "7", "partial_response"),
    ("mirtazapine", "mirtazapine", "30", "6", "no_response"),
)


def _fill_intake(page: Page) -> None:
    def sel(name: str, value: str) -> None:
        page.select_option(f'[name="{name}"]', value)

    def fill(name: str, value: str) -> None:
        page.fill(f'[name="{name}"]', value)

    fill("demographics.weight_kg", "70")
    fill("demographics.height_cm", "168")
    fill("episode.current_episode_start", "2024-01-15")
    fill("episode.number_of_episodes", "3")
    for i, (drug, cls, dose, weeks, outcome) in enumerate(TRIALS):
        row = f"treatment.antidepressant_trials[{i}]"
        fill(f"{row}.drug", drug)
        sel(f"{row}.drug_class", cls)
        fill(f"{row}.dose_mg_per_day", dose)
        fill(f"{row}.weeks", weeks)
        sel(f"{row}.adequate_dose", "yes")
        sel(f"{row}.outcome", outcome)
    sel("treatment.augmentation", "yes")
    sel("treatment.psychotherapy", "yes")
    sel("treatment.ect", "no")
    for key in NO:
        sel(f"medical.{key}", "no")
    fill("medical.benzodiazepine_lorazepam_eq_mg", "0")
    sel("family_history_mental_illness", "yes")
    fill("blood_pressure.systolic_mmhg", "128")
    fill("blood_pressure.diastolic_mmhg", "82")
    fill("blood_pressure.measured_on", date.today().isoformat())  # at most 30 days old [U]
    for i, v in enumerate([2, 3, 2, 3, 1, 2, 2, 1, 0], start=1):
        sel(f"screening.phq9.{i}", str(v))
    sel("screening.cssrs_risk", "none")
    for key in (
        "b_distress_or_impairment",
        "c_not_substance_or_medical",
        "d_not_psychotic_disorder",
        "e_no_mania_or_hypomania",
    ):
        sel(f"dsm5.{key}", "yes")


def test_intake_to_plan(app: FastAPI, db: Session, database_url: str, tmp_path: Path) -> None:
    require_chromium()
    clinic = make_clinic(db)
    clinician = make_user(db, clinic, Role.clinician)
    patient = make_patient(db, clinic, "Walker")
    csp_errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if "Content Security Policy" in msg.text or "Refused to" in msg.text:
            csp_errors.append(msg.text)

    with live_server(app) as base, shared_chromium() as browser:
        context = browser.new_context(
            viewport={"width": 1000, "height": 1300}, accept_downloads=True
        )
        page = context.new_page()
        page.on("console", on_console)
        sign_in(page, base, clinician.email, "/patients")
        page.click("text=Walker, Ada")
        page.click("#link-intake")
        expect(page.locator("h1")).to_contain_text("Intake: Walker, Ada")
        _fill_intake(page)
        page.fill('[name="demographics.weight_kg"]', "7")  # a typo first: refused, kept, named
        page.click("#save-intake")
        expect(page.locator("#form-errors")).to_contain_text("demographics.weight_kg")
        expect(page.locator('[name="treatment.antidepressant_trials[2].drug"]')).to_have_value(
            "mirtazapine"
        )
        page.fill('[name="demographics.weight_kg"]', "70")
        page.click("#save-intake")

        expect(page.locator("h1")).to_contain_text("Assessment: Walker, Ada")
        expect(page.locator("#dsm5 h2")).to_contain_text("meets")
        expect(page.locator("#dsm5-criteria")).to_contain_text("DSM5-A1")
        expect(page.locator("#trd h2")).to_contain_text("yes")
        expect(page.locator("#trd")).to_contain_text("TRD-DEF")
        expect(page.locator("#trd")).to_contain_text("Rybak")
        expect(page.locator("#eligibility-esketamine h3")).to_contain_text("eligible")
        expect(page.locator("#pathway")).to_contain_text("Suggested first")
        page.click("#to-plan")

        page.select_option("#protocol_id", "iv-ketamine-induction")
        page.fill("#start_date", "2025-03-03")
        expect(page.locator("#weekday_mon")).to_be_checked()
        page.click("#create-plan")
        expect(page.locator("#plan-confirm")).to_contain_text("6 sessions")
        page.click("#confirm-plan")
        expect(page.locator("#plan-summary")).to_contain_text("iv-ketamine-induction")
        expect(page.locator("#sessions tbody tr")).to_have_count(6)
        expect(page.locator("#sessions")).to_contain_text("35 mg over 40 min")
        expect(page.locator("#calendar td.session")).to_have_count(6)
        chart = page.locator("#pk-chart svg")
        expect(chart).to_be_visible()
        box = chart.bounding_box()
        assert box is not None and box["width"] > 500 and box["height"] > 200
        expect(page.locator("#pk-disclaimer")).to_contain_text("not dosing guidance")
        age = patient.age_on(date.today())  # the form offered the age from the birth date
        expect(page.locator("#pk-chart figcaption")).to_contain_text(f"70 kg, {age} years")
        if database_url.startswith("sqlite"):
            page.locator("#plan-summary").scroll_into_view_if_needed()
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        with page.expect_download() as info:
            page.click("#download-ics")
        target = tmp_path / "plan.ics"
        info.value.save_as(target)
        assert target.read_text("utf-8").count("BEGIN:VEVENT") == 6
    assert csp_errors == []


def test_a_plan_needs_confirmation_with_the_reasons_shown(app: FastAPI, db: Session) -> None:
    """Issue 13.15: an incomplete eligibility and a replaced plan are shown; one click on the
    prefilled form stores nothing."""
    require_chromium()
    clinic = make_clinic(db)
    user = make_user(db, clinic, Role.clinician)
    patient = make_patient(db, clinic)
    medical = dict(example()["medical"], aneurysmal_vascular_disease=None)  # not asked
    service.save_intake(db, user, patient, example(medical=medical), "")
    email, pid = user.email, patient.id
    db.commit()
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page()
        sign_in(page, base, email, f"/patients/{pid}/plan")
        page.fill("#start_date", "2025-03-03")
        page.click("#create-plan")  # the pre-ticked weekdays, one click
        expect(page.locator("#confirm-eligibility")).to_contain_text("incomplete")
        expect(page.locator("#confirm-reasons tbody tr").first).to_be_visible()
        assert count(db, TreatmentPlan) == 0
        page.click("#confirm-plan")
        expect(page.locator("#plan-summary")).to_be_visible()
        # a second plan: the confirmation says which plan it replaces
        page.select_option("#protocol_id", "esketamine-trd")
        page.fill("#start_date", "2025-04-07")
        page.click("#create-plan")
        expect(page.locator("#confirm-reasons")).to_contain_text("plan.replaces")
        assert count(db, TreatmentPlan) == 1
        page.click("#confirm-plan")
        expect(page.locator("#plan-summary")).to_contain_text("esketamine-trd")
    assert count(db, TreatmentPlan) == 2
