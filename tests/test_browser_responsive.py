"""Every page fits the phone, tablet and laptop widths (issue 13 point 9, issue 21 point 6): at
390, 820 and 1,280 px no page is wider than the window (wide tables scroll inside their
wrapper), and the navigation, "Log out" included, stays on screen; screenshots at 390 and 820
px. The session charting page is built for a nurse's tablet (vitals on the first screen,
44 px targets)."""

from __future__ import annotations

import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from ketacare.features.screening.models import Lead
from ketacare.settings import Settings
from tests.axe import AxeMemo, part_digests, preload_axe
from tests.browser import live_server, require_chromium, screenshot_path, shared_chromium, sign_in
from tests.page_walk import STAFF, walk_site
from tests.sessions.support import install_clock, setup

pytestmark = pytest.mark.browser

WIDTHS = (390, 820, 1280)
SCREENSHOT_WIDTHS = (390, 820)
AXE_WIDTHS = (390, 1280)

#: Measures the page and names the widest elements that stick out (for the failure message).
MEASURE = """() => {
  const vw = window.innerWidth;
  const out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right > vw + 1) {
      let p = el.parentElement, clipped = false;
      while (p) { const o = getComputedStyle(p).overflowX;
        if (o === 'auto' || o === 'scroll' || o === 'hidden') { clipped = true; break; }
        p = p.parentElement; }
      if (!clipped) out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
        (el.className && typeof el.className === 'string' ? '.' + el.className.split(' ')[0] : '')
        + ' ' + Math.round(r.right));
    }
  }
  const logout = [...document.querySelectorAll('header button')]
    .find(b => b.textContent.includes('Log out'));
  const lr = logout ? logout.getBoundingClientRect() : null;
  return {width: document.documentElement.scrollWidth, vw, over: out.slice(0, 6),
          logout: lr ? Math.round(lr.right) : null};
}"""


#: Resolves after the next two rendering frames: a resize's handlers, and what they deferred to
#: an animation frame (static/a11y.js makes a table that overflows focusable that way), have
#: run. A screenshot waited for a frame as a side effect; the walk no longer takes one a page.
NEXT_FRAME = "() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))"


def _shot(who: str, width: int, path: str) -> Path:
    """Where the walk saves a page's screenshot: always a temporary folder (some 250 images,
    too many for docs/screenshots/, which the README's few come from)."""
    slug = re.sub(r"[^a-z0-9]+", "-", path.lower()).strip("-") or "home"
    folder = Path(tempfile.gettempdir()) / "ketacare-screenshots" / "pages"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{width}-{who}-{slug[:60]}.png"


@dataclass
class Memo:
    """What a walk over several roles has checked already: axe-core by markup
    (``tests.axe.AxeMemo``: most staff pages show the same content to several roles, only the
    top bar differs) and the screenshots by content and width."""

    axe: AxeMemo = field(default_factory=AxeMemo)
    shots: set[tuple[int, str]] = field(default_factory=set)


def _walk(
    page: Page, base: str, who: str, paths: list[str], problems: list[str], memo: Memo
) -> int:
    """Open each page once and look at it at each width (the window resized, as a tablet
    turned or a window dragged): note overflow; screenshot at 390 and 820 px (content not yet
    pictured at that width); axe-core at 1,280 px (the desktop layout, issue 21.5) and at
    390 px (wide tables scroll there), sparing markup already checked (``Memo``).
    One navigation a page, not one a width: the walks were the suite's longest tests. The
    widths go down on one page and up on the next, so each page opens at the width the last
    one ended at: setting the width before leaving a page would lay that page out again for
    nothing."""
    seen = 0
    order = WIDTHS[::-1]
    page.set_viewport_size({"width": order[0], "height": 900})
    for path in paths:
        response = page.goto(f"{base}{path}")
        assert response is not None
        if response.status == 403:
            continue  # a page this role may not open (docs/roles.md)
        if who != "anonymous":  # the public walk includes an expired link's page
            assert response.status == 200, (who, path, response.status)
        seen += 1
        for width in order:
            if width != order[0]:  # the page was opened at the first width
                page.set_viewport_size({"width": width, "height": 900})
                page.evaluate(NEXT_FRAME)  # the page's resize handlers (a11y.js) have run
            m = page.evaluate(MEASURE)
            if m["width"] > m["vw"] or (m["logout"] or 0) > m["vw"]:
                problems.append(f"{who} {width}px {path}: {m['width']}px {m['over']} {m['logout']}")
            parts: tuple[str, str] | None = None
            if width in SCREENSHOT_WIDTHS:
                parts = part_digests(page)
                if (width, parts[1]) not in memo.shots:
                    memo.shots.add((width, parts[1]))
                    page.screenshot(path=_shot(who, width, path))
            if width in AXE_WIDTHS:
                found = memo.axe.violations(page, parts)
                problems += [f"{who} {width}px {path}: {v}" for v in found]
        order = order[::-1]
    return seen


@pytest.mark.parametrize(
    "walk", ["anonymous", pytest.param("staff", marks=pytest.mark.long), "patient"]
)
def test_every_page_fits_390_820_and_1280_px_and_passes_axe(
    app: FastAPI, db: Session, settings: Settings, walk: str
) -> None:
    """Issue 21.6: every page (tests/page_walk.py) at 390, 820 and 1,280 px, as each kind of
    user (the staff walk logs in as each staff role in turn, on one clinic): nothing wider
    than the window, "Log out" on screen; a screenshot of each at 390 and 820 px (in the
    temporary folder's ketacare-screenshots/pages/). Issue 21.5: axe-core finds no serious or
    critical violation on any of them, at 1,280 and at 390 px."""
    require_chromium()
    site = walk_site(db, settings, app)
    db.add(
        Lead(
            clinic_id=site.users["admin"].clinic_id,
            name="Avery Long-Surname-Example",
            phone="+1 555 0100",
            email="avery.long.address@example.org",
            preferred_time="weekday mornings",
            consent=True,
        )
    )
    db.commit()
    problems: list[str] = []
    walkers = STAFF if walk == "staff" else (walk,)
    memo = Memo()
    with live_server(app) as base, shared_chromium() as browser:
        for who in walkers:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            preload_axe(context)
            page = context.new_page()
            if who == "anonymous":
                paths = site.public_pages()
            else:
                paths = site.patient_pages() if who == "patient" else site.staff_pages()
                sign_in(page, base, site.users[who].email, None)
            assert _walk(page, base, who, paths, problems, memo) >= 3, who
            context.close()
    assert not problems, "\n".join(problems)


#: Every control a finger presses on the session page, smaller than 44 CSS px high or wide
#: (a checkbox counts by its label, which is the target).
SMALL_TARGETS = """() => {
  const out = [];
  for (const el of document.querySelectorAll(
      '#session-live input:not([type=hidden]), #session-live select, #session-live button,'
      + ' #session-live a.button')) {
    if (el.closest('fieldset[disabled]') || !el.offsetParent) continue;
    const box = (el.type === 'checkbox' || el.type === 'radio') && el.closest('label')
      ? el.closest('label') : el;
    const r = box.getBoundingClientRect();
    if (r.height < 44 || r.width < 44)
      out.push((el.id || el.name || el.textContent.trim()) + ' ' + Math.round(r.width) + 'x'
               + Math.round(r.height));
  }
  return out;
}"""


def _top(page: Page, selector: str) -> float:
    box = page.locator(selector).bounding_box()
    assert box is not None, selector
    return float(box["y"] + box["height"])


def test_session_page_is_built_for_a_nurse_tablet(app: FastAPI, db: Session) -> None:
    """Issue 21.6: at 820 x 1,180 (a tablet held upright) the nurse enters vitals in the first
    screen, before the dose (the checklist's readings) and after it (the vitals form), without
    scrolling; every control is at least 44 px; nothing overflows at 820 or 390 px."""
    require_chromium()
    w = setup(db)
    install_clock(app)
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page(viewport={"width": 820, "height": 1180}, has_touch=True)
        sign_in(page, base, w["nurse_email"], f"/patients/{w['patient_id']}/sessions")
        page.fill("#lot", "LOT-21")
        page.click("#start")
        expect(page.locator("h1")).to_contain_text("Session #")
        page.screenshot(path=screenshot_path("session-tablet-predose-820.png"))
        # Before the dose: the checklist's vitals row is on the first screen.
        assert _top(page, "#checklist-form [name=spo2]") <= 1180
        assert page.evaluate(SMALL_TARGETS) == []
        for name, value in (
            ("systolic", "130"),
            ("diastolic", "80"),
            ("heart_rate", "72"),
            ("spo2", "98"),
            ("last_food_at_min_ago", "180"),
            ("last_liquid_at_min_ago", "60"),
        ):
            page.fill(f"#checklist-form [name={name}]", value)
        page.select_option('#checklist-form [name="pregnancy_test"]', "negative")
        page.select_option('#checklist-form [name="rems_enrolled"]', "yes")
        page.check("#f-transport_arranged")
        page.check("#f-assessments_reviewed")
        page.click("#save-checklist")
        expect(page.locator("#predose h2")).to_contain_text("complete")
        page.fill("#dose-form [name=given_dose_mg]", "56")
        page.fill("#dose-form [name=devices]", "2")
        page.click("#record-dose")
        expect(page.locator("#dose-given")).to_contain_text("56 mg")
        # After the dose: the vitals form, its button included, is on the first screen.
        page.evaluate("window.scrollTo(0, 0)")
        assert _top(page, "#add-vitals") <= 1180, _top(page, "#add-vitals")
        assert page.evaluate(SMALL_TARGETS) == []
        page.screenshot(path=screenshot_path("session-tablet-dosed-820.png"))
        # A reading entered with the keyboard alone (Tab between fields, Enter to send).
        page.focus("#vitals-form [name=systolic]")
        page.keyboard.type("128")
        page.keyboard.press("Tab")
        page.keyboard.type("78")
        page.keyboard.press("Enter")
        expect(page.locator("#vitals-table tbody")).to_contain_text("128/78")
        for width in (820, 390):
            page.set_viewport_size({"width": width, "height": 1180 if width == 820 else 844})
            m = page.evaluate(MEASURE)
            assert m["width"] <= m["vw"], (width, m)
        page.screenshot(path=screenshot_path("session-phone-390.png"), full_page=True)
