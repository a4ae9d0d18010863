"""Every staff page fits the phone, tablet and laptop widths (issue 13 point 9): at 390, 820
and 1,280 px no page is wider than the window (wide tables scroll inside their wrapper), and
the navigation, "Log out" included, stays on screen."""

from __future__ import annotations

from fastapi import FastAPI
from playwright.sync_api import sync_playwright
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from ketacare.features.intake.models import TreatmentPlan
from ketacare.features.patients.models import Patient
from ketacare.features.screening.models import Lead
from ketacare.features.sessions.models import TreatmentSession
from ketacare.settings import Settings
from tests.browser import CHROMIUM_ARGS, live_server, require_chromium
from tests.conftest import PASSWORD, make_user
from tests.reports.support import small_clinic

WIDTHS = (390, 820, 1280)

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


def staff_pages(db: Session) -> list[str]:
    patient = db.execute(
        select(Patient.id)
        .join(TreatmentPlan, TreatmentPlan.patient_id == Patient.id)
        .order_by(Patient.id)
        .limit(1)
    ).scalar_one()
    session = db.execute(
        select(TreatmentSession.id).where(TreatmentSession.patient_id == patient).limit(1)
    ).scalar_one()
    lead = db.execute(select(Lead.id).limit(1)).scalar_one()
    p = f"/patients/{patient}"
    return [
        "/patients",
        "/patients/new",
        p,
        f"{p}/intake",
        f"{p}/assessment",
        f"{p}/plan",
        f"{p}/assessments",
        f"{p}/assessments/new?instrument=madrs",
        f"{p}/trajectories",
        f"{p}/report",
        f"{p}/sessions",
        f"/sessions/{session}",
        "/today",
        "/leads",
        f"/leads/{lead}",
        "/alerts",
        "/overdue",
        "/analytics",
        "/account",
        "/admin/audit",
        "/admin/instrument-texts",
        "/rems",
        f"{p}/rems",
        "/consent",
        f"{p}/consent",
    ]


def test_staff_pages_fit_390_820_and_1280_px(
    app: FastAPI, db: Session, settings: Settings, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        return  # layout does not depend on the database; one run is enough
    chromium = require_chromium()
    clinic, _ = small_clinic(db, settings, n=4, seed=5)
    db.add(
        Lead(
            clinic_id=clinic.id,
            name="Avery Long-Surname-Example",
            phone="+1 555 0100",
            email="avery.long.address@example.org",
            preferred_time="weekday mornings",
            consent=True,
        )
    )
    db.commit()
    admin = make_user(db, clinic, Role.admin)
    pages = staff_pages(db)
    pages += ["/admin/users", f"/admin/users/{admin.id}", "/admin/settings"]  # issue 21.8
    db.commit()
    problems: list[str] = []
    with live_server(app) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/login")
        page.fill("#email", admin.email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login" not in url)
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            for path in pages:
                response = page.goto(f"{base}{path}")
                assert response is not None and response.status == 200, (path, response)
                m = page.evaluate(MEASURE)
                if m["width"] > m["vw"] or (m["logout"] or 0) > m["vw"]:
                    problems.append(f"{width}px {path}: {m['width']}px {m['over']} {m['logout']}")
        browser.close()
    assert problems == [], "\n".join(problems)
