"""Accessibility (issue 21 point 5) of the states scripts create, in real Chromium with
JavaScript on: axe-core on a signature, proposed booking slots and a redrawn chair board, and
the keyboard alone drives the signature pad, the booking finder and the chair board.

Every page a user can reach (``tests/page_walk.py``: the public pages, every staff page as
each staff role, the patient's own pages) is checked with axe-core at 1,280 and 390 px in
the same walk that checks its layout: ``tests/test_browser_responsive.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect
from sqlalchemy.orm import Session

from ketacare.settings import Settings
from tests.axe import assert_accessible, axe_violations
from tests.browser import live_server, require_chromium, shared_chromium, sign_in
from tests.page_walk import Site, walk_site

pytestmark = pytest.mark.browser


@pytest.fixture
def site(db: Session, settings: Settings, app: FastAPI) -> Site:
    return walk_site(db, settings, app)


@pytest.fixture
def browser() -> Iterator[Browser]:
    require_chromium()
    with shared_chromium() as b:
        yield b


def _check(page: Page, label: str, problems: list[str]) -> None:
    for v in axe_violations(page):
        problems.append(f"{label}: {v}")


@pytest.mark.long
def test_keyboard_signs_consent_books_and_keeps_focus_on_the_board(
    app: FastAPI, site: Site, browser: Browser
) -> None:
    """Keyboard only: the consent is signed with the typed name (no drawing), Enter in the
    booking form searches slots instead of booking unseen ones, and the chair board's
    10-second redraw gives the focus back to the same chair's button. axe on each state."""
    p = site.params
    with live_server(app) as base:
        page = browser.new_page(viewport={"width": 820, "height": 1180})
        sign_in(
            page,
            base,
            site.users["nurse"].email,
            f"/patients/{p['patient_id']}/consent/{p['template_id']}/sign",
        )
        page.focus("#attested")
        page.keyboard.press("Space")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "typed_name"
        page.keyboard.type("Pat Ient")
        page.focus("#signature-typed")
        page.keyboard.press("Enter")
        expect(page.locator("#signature-status")).to_contain_text("typed name")
        assert page.locator("#signature").input_value().startswith("data:image/png")
        assert_accessible(page, "consent signing, signature from the typed name")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.id") == "sign"
        page.keyboard.press("Enter")
        page.wait_for_url(lambda url: "/sign" not in url)
        expect(page.locator("#consent-states")).to_be_visible()

        page.goto(f"{base}/patients/{p['patient_id']}/bookings")
        page.focus('#course-form [name="earliest"]')
        page.keyboard.type("1000AM")
        assert page.locator('#course-form [name="earliest"]').input_value() == "10:00"
        page.keyboard.press("Enter")
        expect(page.locator("#proposal")).not_to_have_text("")
        expect(page.locator("#proposal")).not_to_have_text("Searching…")
        assert "/bookings" in page.url and "/course" not in page.url
        assert_accessible(page, "booking, slots proposed")

        page.goto(f"{base}/scheduling/sites/{p['site_id']}/board")
        button = page.locator("#chair-board tbody button, #chair-board tbody a").first
        button.focus()
        chair = button.evaluate("b => b.closest('tr').dataset.chair")
        stamp = page.locator("#board-time").inner_text()
        expect(page.locator("#board-time")).not_to_have_text(stamp, timeout=15_000)
        assert page.evaluate("document.activeElement.closest('tr')?.dataset.chair") == chair
        assert_accessible(page, "chair board after a redraw")
        page.close()


def test_error_states_pass_axe(app: FastAPI, site: Site, browser: Browser) -> None:
    """The pages as a user sees them after a mistake: a refused login, a new-patient form and
    a questionnaire entry with errors, a refused amendment on the session page (partial update):
    the errors are announced and the fields still labelled."""
    p = site.params
    with live_server(app) as base:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{base}/login")
        page.fill("#email", site.users["nurse"].email)
        page.fill("#password", "not the password")
        page.click("button[type=submit]")
        expect(page.locator("main")).to_contain_text("wrong")
        assert_accessible(page, "login refused")

        sign_in(page, base, site.users["clinician"].email, "/patients/new")
        page.fill("#family_name", "Quill")
        page.fill("#birth_date", "2999-01-01")
        page.click("#create-patient")
        expect(page.locator("#form-errors")).to_be_visible()
        assert_accessible(page, "new patient with errors")

        page.goto(f"{base}/patients/{p['patient_id']}/assessments/new?instrument=phq9")
        page.click("#save-scores")
        expect(page.locator("#form-errors")).to_be_visible()
        assert_accessible(page, "PHQ-9 entry with errors")

        page.goto(f"{base}/sessions/{p['rich_session_id']}")  # signed: amendments only
        page.fill("#amend-form [name='change.lot']", "LOT-9")
        page.click("#amend-button")  # no reason given: refused, shown beside the field
        expect(page.locator("#amend-error")).to_be_visible()
        assert page.get_attribute("#f-amend-reason", "aria-invalid") == "true"
        assert_accessible(page, "session amendment refused")
        page.close()
