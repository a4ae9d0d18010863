"""In real headless Chromium (JavaScript on, strict CSP): a clinician writes a progress note
from the clinic template, signs it through the confirmation page and writes an addendum; a
nurse on a 390 px phone writes and signs a nursing note from the session page (issue 21.7)."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import ConsoleMessage, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.notes.models import ClinicalNote
from tests.axe import axe_violations
from tests.browser import live_server, require_chromium, screenshot_path, shared_chromium, sign_in
from tests.sessions.support import T0, install_clock, setup

pytestmark = pytest.mark.browser

PHQ9 = {"instrument": "phq9", "answers": [2, 2, 1, 2, 1, 1, 2, 1, 0]}


def axe_serious(page: Page) -> list[str]:
    """axe-core's serious and critical violations on the page (issue 21.5; ``tests.axe``)."""
    return [f"{page.url}: {v}" for v in axe_violations(page)]


def no_overflow(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], width  # type: ignore[index]


def test_write_sign_and_addend_notes_through_the_pages(
    app: FastAPI, db: Session, tmp_path: Path
) -> None:
    require_chromium()
    w = setup(db)
    install_clock(app, T0)
    pid = w["patient_id"]
    errors: list[str] = []

    def on_console(msg: ConsoleMessage) -> None:
        if msg.type == "error" or "Content Security Policy" in msg.text:
            errors.append(msg.text)

    with live_server(app) as base, shared_chromium() as browser:
        # A clinician: progress note from the template, pre-filled, signed, then an addendum.
        ctx = browser.new_context(viewport={"width": 820, "height": 1180})
        page = ctx.new_page()
        page.on("console", on_console)
        api = ctx.request
        r = api.post(f"{base}/api/v1/patients/{pid}/assessments", data=PHQ9,
                     headers=w["clinician"])  # fmt: skip
        assert r.status == 201, r.text()
        sign_in(page, base, w["clinician_email"], f"/patients/{pid}")
        page.click("#link-notes")
        page.select_option("#f-template", "progress-note")
        page.click("#new-note")
        expect(page.locator("#f-measures")).to_have_value("PHQ-9: 12 (Moderate) on 2025-03-03")
        expect(page.locator("#f-intake")).to_contain_text("IV ketamine:")
        violations = axe_serious(page)
        page.fill("#f-interval", "Sleeping better; no dissociation after the last dose.")
        page.fill("#f-plan", "Continue the induction course.")
        page.keyboard.press("Tab")
        page.click("#save-and-sign")
        expect(page.locator("h1")).to_contain_text("Sign: Progress note")
        expect(page.locator("#note-document")).to_contain_text("Sleeping better")
        violations += axe_serious(page)
        page.screenshot(path=str(screenshot_path("notes-sign-820.png")), full_page=True)
        page.click("#confirm-sign")
        signature = page.locator(".note-signature")
        expect(signature).to_contain_text(w["clinician_email"])
        expect(signature).to_contain_text("2025-03-03")
        expect(page.locator(".note-hash")).to_contain_text("…")
        expect(page.locator("#note-form")).to_have_count(0)  # never editable again
        violations += axe_serious(page)
        page.click("#add-addendum")
        page.fill("#f-addendum", "Blood pressure at discharge 128/80.")
        page.click("#save-and-sign")
        page.click("#confirm-sign")
        expect(page.locator("#parent-link")).to_be_visible()
        page.click("#parent-link")
        expect(page.locator("#addenda li")).to_have_count(1)
        expect(page.locator("#addenda")).to_contain_text("signed")
        page.goto(f"{base}/patients/{pid}/notes")
        expect(page.locator("#notes tbody tr[data-status=signed]")).to_have_count(2)
        violations += axe_serious(page)
        ctx.close()

        # A nurse on a phone: the session page's nursing note, saved and signed at once.
        r = browser.new_context().request.post(
            f"{base}/api/v1/patients/{pid}/sessions", data={"lot": "L1"}, headers=w["nurse"]
        )
        assert r.status == 201, r.text()
        sid = r.json()["session"]["id"]
        phone = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True)
        page = phone.new_page()
        page.on("console", on_console)
        sign_in(page, base, w["nurse_email"], f"/sessions/{sid}")
        page.fill("#f-session-note", "Patient calm, resting; BP 130/82 at 40 min.")
        page.click("#session-note-sign")
        expect(page.locator("#session-note-list li")).to_have_count(1)
        expect(page.locator("#session-note-list")).to_contain_text("signed")
        no_overflow(page)
        page.click("#session-note-list a")
        expect(page.locator(".note-signature")).to_contain_text(w["nurse_email"])
        no_overflow(page)
        violations += axe_serious(page)
        page.screenshot(path=str(screenshot_path("notes-nursing-390.png")), full_page=True)
        phone.close()
    assert errors == []
    assert violations == []
    rows = db.execute(select(ClinicalNote.kind, ClinicalNote.status)).all()
    db.commit()
    assert sorted(rows) == [("nursing", "signed"), ("progress", "signed"), ("progress", "signed")]
