"""Chromium at phone width (390 px): a patient asks for a sign-in link, reads it in the mail
the local SMTP server received, opens it and sees their page (issue 21.4)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.settings import Settings
from tests.assessments.support import smtp_server
from tests.browser import live_server, require_chromium, screenshot_path, shared_chromium
from tests.portal.support import CONTACT, clinic_id, fill_chart, link_path, make_patient, smtp_app

pytestmark = pytest.mark.browser

#: Elements wider than the window (outside a scrolling box), for the failure message.
OVERFLOW = """() => {
  const vw = window.innerWidth, out = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (r.right <= vw + 1) continue;
    let p = el.parentElement, clipped = false;
    while (p) { const o = getComputedStyle(p).overflowX;
      if (o === 'auto' || o === 'scroll' || o === 'hidden') { clipped = true; break; }
      p = p.parentElement; }
    if (!clipped) out.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : ''));
  }
  return {width: document.documentElement.scrollWidth, over: out.slice(0, 6)};
}"""

#: Inputs without a label (by ``for``/``id``, wrapping label or aria-label).
UNLABELLED = """() => [...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
  .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label'))
  .map(el => el.name || el.id)"""


def test_patient_signs_in_by_mailed_link_and_sees_their_page(
    db: Session, settings: Settings
) -> None:
    require_chromium()
    patient = make_patient(db, clinic_id(db), "robin@example.org")
    fill_chart(db, settings, patient, utcnow())
    with smtp_server() as smtp:
        app = smtp_app(settings, smtp)
        with live_server(app) as base, shared_chromium() as browser:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            # From the login page, as a patient would find it.
            page.goto(f"{base}/login")
            page.click("text=sign in with a link sent to your e-mail")
            expect(page.locator("h1")).to_have_text("Patient sign-in")
            assert page.evaluate(UNLABELLED) == []
            page.fill("#email", "robin@example.org")
            page.keyboard.press("Enter")
            expect(page.locator("#link-sent")).to_contain_text("sign-in link")
            # The mail, from the local SMTP server.
            page.goto(base + link_path(smtp))
            page.click("#sign-in")
            expect(page.locator("h1")).to_have_text("Your page")
            assert page.url == f"{base}/me"
            expect(page.locator("#visits")).to_contain_text("Arrange a ride home")
            expect(page.locator("#due-links")).to_contain_text("Fill it in now")
            expect(page.locator("#to-sign")).to_contain_text("Consent to IV ketamine")
            expect(page.locator("#scores")).to_contain_text(
                "Your PHQ-9 score went from 21 at the start to 9 — a 57% drop."
            )
            expect(page.locator("#contact")).to_contain_text(CONTACT)
            expect(page.locator("nav a[aria-current=page]")).to_have_text("Your page")
            measured = page.evaluate(OVERFLOW)
            assert measured["width"] <= 390 and measured["over"] == [], measured
            page.screenshot(path=str(screenshot_path("portal.png")), full_page=True)
            # Sign the consent on the phone (issue 19.5: signing by link), drawn by finger.
            page.click('#to-sign a[href^="/me/consent/"]')
            expect(page.locator("h1")).to_have_text("Consent to IV ketamine")
            page.check("#attested")
            page.fill("#typed_name", "Robin Patient")
            box = page.locator("#signature-pad").bounding_box()
            assert box is not None
            page.mouse.move(box["x"] + 15, box["y"] + box["height"] - 20)
            page.mouse.down()
            for i in range(1, 10):
                page.mouse.move(box["x"] + 15 + i * 25, box["y"] + 30 + (i % 3) * 20, steps=3)
            page.mouse.up()
            expect(page.locator("#signature-status")).to_contain_text("captured")
            page.click("#sign")
            page.wait_for_url(f"{base}/me*")
            expect(page.locator("#to-sign")).to_contain_text("Nothing to sign right now.")
            # Keyboard only: reach "Fill it in now" with Tab and press Enter.
            for _ in range(40):
                page.keyboard.press("Tab")
                if page.evaluate("document.activeElement.textContent.trim()") == "Fill it in now":
                    break
            page.keyboard.press("Enter")
            page.wait_for_url(f"{base}/a/*")
            expect(page.locator("h1")).to_contain_text("PHQ-9")
