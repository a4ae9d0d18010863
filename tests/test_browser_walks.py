"""One Chromium walk per role through the JavaScript path a user takes (issue 13, "Tests"):
nurse, clinician, admin (office) and patient, each at 1,280, 820 and 390 px.

Every step also checks that the page is no wider than the window. Map of issue 13's points
to the walks (each walk's comments name the point at the assertion):

1. adverse event recorded through the session form with JS on, shown and stored; no form
   posts to "[object HTMLInputElement]": ``test_nurse_walk``, ``test_clinician_walk``
2. a second session for a patient with one open: 409 naming the open session, nothing
   created: ``test_nurse_walk``, ``test_clinician_walk``
3. login after 12 colleagues' correct logins from the same address (no 429); a wrong
   password keeps the email: every walk (``_colleagues_log_in`` and ``_log_in``)
4. questionnaire link shown to staff (copy button), delivery not "sent" when the console
   notifier only printed it: ``test_clinician_walk``
5. expired login: a vitals save says "not saved", keeps the values, re-login restores
   them: ``test_nurse_walk``, ``test_clinician_walk``
6. clinic time zone (America/New_York): times shown are clinic local time of a stored UTC
   instant: ``test_nurse_walk``, ``test_clinician_walk`` (vitals, adverse event, the
   409 reason), ``test_admin_walk`` (session list), ``test_patient_walk`` (due link)
7. a 47.5 mg dose typed and stored: ``test_nurse_walk``, ``test_clinician_walk``
8. the patient's login lands on a page that works, and its links work: ``test_patient_walk``

The office (admin) role reaches the audit log and the patient list and is refused
charting (403 on starting a session or saving vitals): ``test_admin_walk``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, BrowserContext, Page, expect
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.auth.models import AuthToken, Role, TokenKind
from ketacare.features.clinics.models import Clinic
from ketacare.features.intake import plans, service
from ketacare.features.outreach.models import Invitation
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.models import AdverseEvent, TreatmentSession, VitalSign
from ketacare.features.sessions.schemas import SessionCreate
from ketacare.features.sessions.service import create_session
from ketacare.settings import Settings
from ketacare.web.app import create_app
from tests import real_http
from tests.browser import live_server, log_in, require_chromium, shared_chromium
from tests.conftest import PASSWORD, count, make_clinic, make_user, scalar
from tests.intake_app.intake_support import example, make_patient
from tests.sessions.support import T0, install_clock

pytestmark = pytest.mark.browser

NY = ZoneInfo("America/New_York")
VIEWPORTS = [
    pytest.param({"width": 1280, "height": 900}, id="1280"),
    pytest.param({"width": 820, "height": 1180}, id="820"),
    pytest.param({"width": 390, "height": 844}, id="390"),
]
COLLEAGUE_LOGINS = 12


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium for every walk of the file."""
    require_chromium()
    with shared_chromium() as b:
        yield b


@pytest.fixture
def walk_app(settings: Settings, engine: Any) -> FastAPI:
    """The app with a login limit as strict as the one that locked clinics out (10 per
    window), so 12 correct logins would have hit it; the session clock at T0."""
    app = create_app(settings.model_copy(update={"login_rate_limit": 10, "lockout_threshold": 5}))
    install_clock(app)  # sessions: Monday 2025-03-03 09:00 UTC = 04:00 EST in New York
    return app


def _clinic(db: Session) -> Clinic:
    """The clinic, in New York time (issue 13.6)."""
    clinic = make_clinic(db)
    clinic.timezone = "America/New_York"
    db.commit()
    return clinic


def _patient_with_plan(db: Session, clinic: Clinic) -> int:
    """A 95-kg patient with an IV plan (47.5 mg at 0.5 mg/kg) starting on T0's date."""
    clinician = make_user(db, clinic, Role.clinician)
    patient = make_patient(db, clinic)
    doc = example()
    doc["demographics"] = dict(doc["demographics"], weight_kg=95)
    service.save_intake(db, clinician, patient, doc, "")
    plans.create_plan(
        db, clinician, patient, plans.PlanInput("iv-ketamine-induction", "2025-03-03")
    )
    pid = patient.id
    db.commit()
    return pid


def _colleagues(db: Session, clinic: Clinic) -> list[str]:
    emails = [make_user(db, clinic, Role.nurse).email for _ in range(4)]
    db.commit()
    return emails


def _colleagues_log_in(base: str, emails: list[str]) -> None:
    """Point 3: 12 correct logins of colleagues from this address (shift start), all 303."""
    for i in range(COLLEAGUE_LOGINS):
        with real_http.client(base_url=base, follow_redirects=False) as c:
            c.get("/login")
            token = c.cookies.get("kc_csrf")
            data = {"email": emails[i % len(emails)], "password": PASSWORD, "csrf_token": token}
            r = c.post("/login", data=data)
            assert r.status_code == 303, (i, r.status_code)


def _fits(page: Page) -> None:
    """The page is no wider than the window (no horizontal scrolling)."""
    width, vw = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= vw + 1, f"{page.url}: {width}px wide in a {vw}px window"


def _log_in(page: Page, base: str, email: str) -> None:
    """Point 3: a wrong password is refused with the email kept; the right one then works
    (no 429 after the colleagues' logins)."""
    page.goto(f"{base}/login")
    _fits(page)
    page.fill("#email", email)
    page.fill("#password", "not-the-password")
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.click("button[type=submit]")
    assert refused.value.status == 401
    expect(page.locator("#email")).to_have_value(email)
    _fits(page)
    page.fill("#password", PASSWORD)
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("button[type=submit]")
    assert answer.value.status == 303, answer.value.status  # not 429
    page.wait_for_url(lambda url: "/login" not in url)
    expect(page.locator("nav")).to_contain_text(email)
    _fits(page)


def _new_page(browser: Browser, viewport: dict[str, int]) -> tuple[BrowserContext, Page]:
    context = browser.new_context(viewport=viewport)  # type: ignore[arg-type]
    page = context.new_page()
    page.set_default_timeout(10_000)
    return context, page


def _watch_posts(page: Page) -> list[str]:
    """Every request URL and navigation of the page (to catch "[object HTMLInputElement]")."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url))
    page.on("framenavigated", lambda f: seen.append(f.url))
    return seen


def _step(page: Page, button: str) -> None:
    """Click a session-page button and wait for its fetch() round trip."""
    before = page.evaluate("document.body.getAttribute('data-updated') || ''")
    page.click(button)
    page.wait_for_function(
        "(b) => (document.body.getAttribute('data-updated') || '') !== b", arg=before
    )


def _chart(page: Page, base: str, db: Session, pid: int, email: str) -> None:
    """The charting part of the nurse's and the clinician's walks (points 1, 2, 5, 6, 7)."""
    urls = _watch_posts(page)
    page.goto(f"{base}/patients/{pid}/sessions")
    _fits(page)
    page.click("#start")
    expect(page.locator("h1")).to_contain_text("Session #")
    sid = int(page.url.rsplit("/", 1)[1])
    _fits(page)

    # pre-dose checklist through the JS path
    for name, value in {
        "systolic": "124",
        "diastolic": "78",
        "heart_rate": "72",
        "spo2": "98",
        "last_food_at_min_ago": "240",
        "last_liquid_at_min_ago": "120",
    }.items():
        page.fill(f'#checklist-form [name="{name}"]', value)
    page.select_option('#checklist-form [name="pregnancy_test"]', "negative")
    page.check("#f-transport_arranged")
    page.check("#f-assessments_reviewed")
    _step(page, "#save-checklist")
    expect(page.locator("#predose h2")).to_contain_text("complete")
    _fits(page)

    # Point 7: the planned 47.5 mg is prefilled as 47.5; typing 47.5 is accepted and stored
    expect(page.locator("#f-given_dose_mg")).to_have_value("47.5")
    page.fill("#f-given_dose_mg", "47.5")
    _step(page, "#record-dose")
    expect(page.locator("#dose-given")).to_contain_text("47.5 mg")
    stored = scalar(db, select(TreatmentSession.given_dose_mg).where(TreatmentSession.id == sid))
    assert stored == 47.5
    _fits(page)

    # vitals and a scale through the JS path
    page.fill('#vitals-form [name="systolic"]', "130")
    page.fill('#vitals-form [name="diastolic"]', "82")
    rows = page.locator("#vitals-table tbody tr").count()  # the checklist's reading
    stored_vitals = count(db, VitalSign)
    _step(page, "#add-vitals")
    expect(page.locator("#vitals-table tbody tr")).to_have_count(rows + 1)
    assert count(db, VitalSign) == stored_vitals + 1
    _step(page, "#add-moaas")
    _fits(page)

    # Point 1: an adverse event through its form (it has a field named "action"), JS on:
    # shown on the page and stored
    page.select_option("#f-term", "nausea")
    page.fill('#ae-form [name="action"]', "ondansetron 4 mg")
    _step(page, "#add-ae")
    expect(page.locator("#ae-list")).to_contain_text("ondansetron 4 mg")
    expect(page.locator(".swap-error")).to_have_count(0)
    assert count(db, AdverseEvent) == 1
    ae = scalar(db, select(AdverseEvent.action).where(AdverseEvent.session_id == sid))
    assert ae == "ondansetron 4 mg"
    _fits(page)

    # Point 6: the stored UTC instants (T0 = 09:00 UTC) show as New York time (04:00 EST)
    at = scalar(db, select(func.max(VitalSign.at)).where(VitalSign.session_id == sid))
    assert at == T0
    local = T0.astimezone(NY)
    expect(page.locator("#vitals-table")).to_contain_text(local.strftime("%H:%M:%S"))
    expect(page.locator("#ae-list")).to_contain_text(local.strftime("%H:%M"))
    assert T0.strftime("%H:%M") not in page.locator("#vitals-table").inner_text()

    # Point 1: no submission went to "[object HTMLInputElement]" (nor navigated there)
    assert not [u for u in urls if "object" in u.lower()], urls

    # Point 5: the login expires while the page is open: a vitals save says it was not
    # saved and keeps the values; logging in again comes back with them
    # (two hours before the app's clock, which login and token checks use)
    db.execute(
        update(AuthToken)
        .where(AuthToken.kind == TokenKind.session)
        .values(last_used_at=T0 - timedelta(hours=2))
    )
    db.commit()
    page.fill('#vitals-form [name="systolic"]', "118")
    page.fill('#vitals-form [name="diastolic"]', "76")
    _step(page, "#add-vitals")
    expect(page.locator("#swap-error-vitals-form")).to_contain_text("Not saved")
    expect(page.locator("#swap-error-vitals-form")).to_contain_text("expired")
    expect(page.locator('#vitals-form [name="systolic"]')).to_have_value("118")
    expect(page.locator('#vitals-form [name="diastolic"]')).to_have_value("76")
    assert count(db, VitalSign) == stored_vitals + 1
    _fits(page)
    page.click("#swap-error-vitals-form a.relogin")
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}/sessions/{sid}")
    expect(page.locator('#vitals-form [name="systolic"]')).to_have_value("118")
    expect(page.locator('#vitals-form [name="diastolic"]')).to_have_value("76")
    expect(page.locator("#swap-error-vitals-form")).to_contain_text("NOT saved yet")
    _fits(page)
    _step(page, "#add-vitals")
    expect(page.locator("#vitals-table tbody tr")).to_have_count(rows + 2)
    assert count(db, VitalSign) == stored_vitals + 2

    # Point 2: starting a second session from the page is refused (409) naming the open one
    page.click(f"a[href='/patients/{pid}/sessions']")
    expect(page.locator("#open-session-warning")).to_contain_text(f"#{sid}")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click("#start")
    assert answer.value.status == 409
    expect(page.locator("#form-errors")).to_contain_text(f"session #{sid}")
    expect(page.locator("#form-errors")).to_contain_text("still open")
    # Point 6: the reason gives the open session's stored UTC start in New York time
    started = scalar(db, select(TreatmentSession.created_at).where(TreatmentSession.id == sid))
    local_start = started.astimezone(NY).strftime("%Y-%m-%d %H:%M")
    expect(page.locator("#form-errors")).to_contain_text(f"started {local_start}")
    assert count(db, TreatmentSession) == 1
    _fits(page)
    assert not [u for u in urls if "object" in u.lower()], urls


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_nurse_walk(
    walk_app: FastAPI, db: Session, browser: Browser, viewport: dict[str, int]
) -> None:
    clinic = _clinic(db)
    pid = _patient_with_plan(db, clinic)
    nurse = make_user(db, clinic, Role.nurse).email
    colleagues = _colleagues(db, clinic)
    with live_server(walk_app) as base:
        _colleagues_log_in(base, colleagues)
        context, page = _new_page(browser, viewport)
        _log_in(page, base, nurse)
        _chart(page, base, db, pid, nurse)
        context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_clinician_walk(
    walk_app: FastAPI, db: Session, browser: Browser, viewport: dict[str, int]
) -> None:
    clinic = _clinic(db)
    pid = _patient_with_plan(db, clinic)
    patient = db.get(Patient, pid)
    assert patient is not None
    patient.email = "ada.lee@example.org"
    db.commit()
    clinician = make_user(db, clinic, Role.clinician).email
    colleagues = _colleagues(db, clinic)
    with live_server(walk_app) as base:
        _colleagues_log_in(base, colleagues)
        context, page = _new_page(browser, viewport)
        context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
        _log_in(page, base, clinician)
        _chart(page, base, db, pid, clinician)
        # the clinician is offered the reason field; without a reason the start stays refused
        expect(page.locator("#concurrent_reason")).to_be_visible()

        # Point 4: a questionnaire link: staff see it (copy button) and the delivery does
        # not read "sent" when the console notifier only printed it to the log (today: the
        # app's one clock leaves the sessions' T0)
        walk_app.state.clock.now = utcnow()
        # the login began at T0 on the same clock, so it has expired: log in again
        log_in(page, base, clinician)
        page.goto(f"{base}/patients/{pid}/assessments")
        _fits(page)
        page.select_option("#instrument_id", "phq9")
        page.select_option("#recurrence", "once")
        page.fill("#start_date", datetime.now(NY).date().isoformat())
        page.click("#create-schedule")
        expect(page.locator("#schedule-list")).to_contain_text("PHQ-9")
        page.reload()
        delivery = page.locator("#link-list .delivery")
        expect(delivery).to_contain_text("not sent")
        assert " sent" not in " " + delivery.inner_text().replace("not sent", "")
        _fits(page)
        page.click("#link-list button[type=submit]")
        expect(page.locator("#shown-link-url")).to_be_visible()
        link = page.input_value("#shown-link-url")
        # the configured public address (KETACARE_PUBLIC_URL, else host:port of the settings)
        assert link.startswith(walk_app.state.settings.public_url + "/a/"), link
        expect(page.locator("#copy-link")).to_be_visible()
        page.click("#copy-link")
        expect(page.locator("#copy-status")).to_have_text("Copied.")
        expect(page.locator("#link-list .delivery")).to_contain_text("shown to staff")
        _fits(page)
        page.goto(base + link[len(walk_app.state.settings.public_url) :])  # the link works
        expect(page.locator("h1")).to_contain_text("PHQ-9")
        _fits(page)
        context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_admin_walk(
    walk_app: FastAPI, db: Session, browser: Browser, viewport: dict[str, int]
) -> None:
    clinic = _clinic(db)
    pid = _patient_with_plan(db, clinic)
    nurse = make_user(db, clinic, Role.nurse)
    patient = db.get(Patient, pid)
    assert patient is not None
    s = create_session(db, nurse, patient, SessionCreate(), today=T0.date())
    # a known UTC instant: 2026-01-15 15:00 UTC is 10:00 EST in New York
    known = datetime(2026, 1, 15, 15, 0, tzinfo=UTC)
    s.created_at = known
    sid = s.id
    db.commit()
    admin = make_user(db, clinic, Role.admin).email
    colleagues = _colleagues(db, clinic)
    with live_server(walk_app) as base:
        _colleagues_log_in(base, colleagues)
        context, page = _new_page(browser, viewport)
        _log_in(page, base, admin)

        # office pages: the audit log and the patient list
        for path, heading in (("/admin/audit", "Audit"), ("/patients", "Patients")):
            response = page.goto(f"{base}{path}")
            assert response is not None and response.status == 200, path
            expect(page.locator("h1")).to_contain_text(heading)
            _fits(page)
        page.click(f"a[href='/patients/{pid}']")
        expect(page.locator("h1")).to_contain_text("Ada")
        _fits(page)

        # Point 6: the session list shows the stored UTC start in New York time
        page.goto(f"{base}/patients/{pid}/sessions")
        table = page.locator("#session-list")
        expect(table).to_contain_text(known.astimezone(NY).strftime("%Y-%m-%d %H:%M"))
        assert "2026-01-15 15:00" not in table.inner_text()
        _fits(page)

        # role policy: the office is refused charting (starting a session, saving vitals)
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("#start")
        assert answer.value.status == 403
        _fits(page)
        assert count(db, TreatmentSession) == 1
        page.goto(f"{base}/sessions/{sid}")
        _fits(page)
        page.fill('#vitals-form [name="systolic"]', "120")
        _step(page, "#add-vitals")
        expect(page.locator("#swap-error-vitals-form")).to_contain_text("Not saved")
        expect(page.locator("#swap-error-vitals-form")).to_contain_text("403")
        assert count(db, VitalSign) == 0
        context.close()


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_patient_walk(
    walk_app: FastAPI, db: Session, browser: Browser, viewport: dict[str, int]
) -> None:
    clinic = _clinic(db)
    account = make_user(db, clinic, Role.patient, email="robin@example.org")
    patient = Patient(
        clinic_id=clinic.id, given_name="Robin", family_name="Example", email=account.email
    )
    db.add(patient)
    db.flush()
    # a questionnaire due an hour ago (a known UTC instant, whole minutes)
    due = utcnow().replace(second=0, microsecond=0) - timedelta(hours=1)
    db.add(
        Invitation(
            clinic_id=clinic.id,
            patient_id=patient.id,
            instrument_id="phq9",
            token_hash="f" * 64,
            due_at=due,
            expires_at=due + timedelta(hours=72),
        )
    )
    email = account.email
    db.commit()
    assert scalar(db, select(func.count()).select_from(Invitation)) == 1
    colleagues = _colleagues(db, clinic)
    walk_app.state.clock.now = utcnow()  # the app's one clock: the link is due by now
    with live_server(walk_app) as base:
        _colleagues_log_in(base, colleagues)
        context, page = _new_page(browser, viewport)
        statuses: dict[str, int] = {}
        page.on("response", lambda r: statuses.__setitem__(r.url, r.status))
        _log_in(page, base, email)

        # Point 8: the login lands on a page that works (200, no 403)
        assert page.url == f"{base}/me"
        assert statuses[f"{base}/me"] == 200
        expect(page.locator("h1")).to_have_text("Your page")
        assert 403 not in statuses.values(), statuses

        # Point 6: the due time is the clinic's local time of the stored UTC instant
        due_local = due.astimezone(NY).strftime("%Y-%m-%d %H:%M")
        expect(page.locator("#due-links")).to_contain_text(f"due {due_local}")
        assert due.strftime("%Y-%m-%d %H:%M") not in page.locator("#due-links").inner_text()

        # Point 8: every link of the landing page works for the patient
        hrefs = page.eval_on_selector_all("a[href]", "els => [...new Set(els.map(a => a.href))]")
        local = [h for h in hrefs if h.startswith(base)]
        assert f"{base}/me" in local and f"{base}/account" in local
        for href in local:
            response = page.goto(href)
            assert response is not None and response.status == 200, (href, response)
            _fits(page)
        context.close()
