"""Every form of the session page through the JavaScript path in Chromium (issue 13.1), a
half-milligram dose (13.7), failed saves that say so and keep the typed values (13.1, 13.5),
an expired login that comes back to the page with the values (13.5), the keep-alive and the
reminders that update without a reload (13.5, 13.17)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketacare.features.auth.models import AuthToken, Role, TokenKind
from ketacare.features.intake import plans, service
from ketacare.features.sessions.models import AdverseEvent, TreatmentSession, VitalSign
from ketacare.settings import Settings
from ketacare.web.app import create_app
from tests.browser import live_server, require_chromium, shared_chromium, sign_in
from tests.conftest import PASSWORD, count, make_clinic, make_user
from tests.intake_app.intake_support import example, make_patient
from tests.sessions.support import T0, install_clock

pytestmark = pytest.mark.browser


def _world(db: Session, drug: str = "iv") -> dict[str, Any]:
    """A clinician, a nurse and a 95-kg patient with an IV plan (47.5 mg at 0.5 mg/kg)."""
    clinic = make_clinic(db)
    clinician = make_user(db, clinic, Role.clinician)
    nurse = make_user(db, clinic, Role.nurse)
    patient = make_patient(db, clinic)
    doc = example()
    doc["demographics"] = dict(doc["demographics"], weight_kg=95)
    service.save_intake(db, clinician, patient, doc, "")
    protocol = "iv-ketamine-induction" if drug == "iv" else "esketamine-trd"
    plans.create_plan(db, clinician, patient, plans.PlanInput(protocol, "2025-03-03"))
    db.commit()
    out = {
        "patient_id": patient.id,
        "clinician": clinician.email,
        "nurse": nurse.email,
        "nurse_id": nurse.id,
    }
    db.commit()
    return out


@pytest.fixture
def browser() -> Iterator[Browser]:
    require_chromium()
    with shared_chromium() as b:
        yield b


def _start(page: Page, base: str, patient_id: int) -> int:
    page.goto(f"{base}/patients/{patient_id}/sessions")
    page.click("#start")
    expect(page.locator("h1")).to_contain_text("Session #")
    page.evaluate("window.__noReload = true")
    return int(page.url.rsplit("/", 1)[1])


def _step(page: Page, button: str) -> None:
    """Click a step's button and wait for the fetch() round trip to finish."""
    before = page.evaluate("document.body.getAttribute('data-updated') || ''")
    page.click(button)
    page.wait_for_function(
        "(b) => (document.body.getAttribute('data-updated') || '') !== b", arg=before
    )


def _fill(page: Page, form: str, values: dict[str, str]) -> None:
    for name, value in values.items():
        page.fill(f'{form} [name="{name}"]', value)


def test_every_session_form_works_through_javascript(
    app: FastAPI, db: Session, browser: Browser
) -> None:
    w = _world(db)
    clock = install_clock(app)
    with live_server(app) as base:
        page = browser.new_page(viewport={"width": 1024, "height": 1366})
        sign_in(page, base, w["clinician"], None)
        sid = _start(page, base, w["patient_id"])
        expect(page.locator("#planned-link")).to_contain_text("linked automatically")

        # checklist with a raised BP: the clinician's decision is asked for, then not again
        _fill(
            page,
            "#checklist-form",
            {
                "systolic": "150",
                "diastolic": "95",
                "heart_rate": "72",
                "spo2": "98",
                "last_food_at_min_ago": "240",
                "last_liquid_at_min_ago": "120",
            },
        )
        page.select_option('#checklist-form [name="pregnancy_test"]', "negative")
        page.check("#f-transport_arranged")
        page.check("#f-assessments_reviewed")
        _step(page, "#save-checklist")
        expect(page.locator("#bp-decision-form")).to_be_visible()
        page.fill("#f-reason", "benefit outweighs a short rise")
        _step(page, "#bp-decision-form button[type=submit]")
        expect(page.locator("#bp-decided")).to_contain_text("proceed")
        expect(page.locator("#bp-decision-form")).to_have_count(0)
        expect(page.locator("#predose h2")).to_contain_text("complete")

        # the planned 47.5 mg is prefilled as 47.5 and accepted
        expect(page.locator("#f-given_dose_mg")).to_have_value("47.5")
        _step(page, "#record-dose")
        expect(page.locator("#dose-given")).to_contain_text("47.5 mg")

        # scales, vitals and an adverse event (its form has a field named "action")
        clock.set(minutes=20)
        _step(page, "#add-moaas")
        _step(page, "#add-cadss")
        _fill(page, "#vitals-form", {"systolic": "150", "diastolic": "90", "resp_rate": "8"})
        _step(page, "#add-vitals")
        expect(page.locator("#vitals-table")).to_contain_text("vitals.rr_low")
        page.select_option("#f-term", "nausea")
        page.fill('#ae-form [name="action"]', "ondansetron 4 mg")
        _step(page, "#add-ae")
        expect(page.locator("#ae-list")).to_contain_text("ondansetron 4 mg")
        expect(page.locator(".swap-error")).to_have_count(0)

        # after the infusion: readings near baseline, MOAA/S 5, clinician sign-off, discharge
        clock.set(minutes=75)
        _fill(page, "#vitals-form", {"systolic": "140", "diastolic": "88", "spo2": "98"})
        _step(page, "#add-vitals")
        page.select_option("#f-moaas-timepoint", "discharge")
        _step(page, "#add-moaas")
        page.select_option("#f-cadss-timepoint", "discharge")
        _step(page, "#add-cadss")
        _step(page, "#approve-discharge")
        _step(page, "#discharge-button")
        expect(page.locator("#session-status")).to_have_text("discharged")
        expect(page.locator("#vitals-due li")).to_have_count(0)  # no reminders once discharged
        _step(page, "#sign-button")
        expect(page.locator("#session-status")).to_have_text("signed")

        # an amendment with a half milligram
        page.fill("#f-amend-dose", "47.5")
        page.fill('#amend-form [name="change.notes"]', "rounding")
        page.fill("#f-amend-reason", "dose charted as given")
        _step(page, "#amend-button")
        expect(page.locator("#versions")).to_contain_text("dose charted as given")
        assert page.evaluate("window.__noReload === true")
        page.close()
    s = db.execute(select(TreatmentSession).where(TreatmentSession.id == sid)).scalar_one()
    assert s.given_dose_mg == 47.5 and s.version == 2
    events = list(db.execute(select(AdverseEvent)).scalars())
    assert [(e.term, e.action) for e in events] == [("nausea", "ondansetron 4 mg")]


def test_failed_saves_say_so_and_keep_the_values(
    app: FastAPI, db: Session, browser: Browser
) -> None:
    w = _world(db)
    install_clock(app)
    with live_server(app) as base:
        context = browser.new_context()
        page = context.new_page()
        keys: list[str] = []
        page.on(
            "request",
            lambda r: (
                keys.append(r.headers.get("idempotency-key", ""))
                if r.method == "POST" and r.url.endswith("/vitals")
                else None
            ),
        )
        sign_in(page, base, w["nurse"], None)
        _start(page, base, w["patient_id"])

        # refused by the server (422): the errors name the field, the values stay
        _fill(page, "#vitals-form", {"systolic": "80", "diastolic": "120"})
        _step(page, "#add-vitals")
        expect(page.locator("#form-errors")).to_contain_text("diastolic")
        expect(page.locator("#form-errors")).to_contain_text("below systolic")
        expect(page.locator('#vitals-form [name="systolic"]')).to_have_value("80")
        expect(page.locator('#vitals-form [name="diastolic"]')).to_have_value("120")

        # no connection: said so, values kept, nothing stored; then the retry is stored once
        _fill(page, "#vitals-form", {"systolic": "120", "diastolic": "80"})
        context.set_offline(True)
        _step(page, "#add-vitals")
        expect(page.locator("#swap-error-vitals-form")).to_contain_text("no connection")
        expect(page.locator('#vitals-form [name="systolic"]')).to_have_value("120")
        context.set_offline(False)
        _step(page, "#add-vitals")
        expect(page.locator("#vitals-table tbody tr")).to_have_count(1)
        # one key per submission; the retry of the same values after a failure reuses it
        assert len(keys) == 3 and all(len(k) == 32 for k in keys), keys
        assert keys[0] != keys[1] and keys[1] == keys[2]

        # a non-2xx answer without the page (403: the CSRF cookie is gone)
        csrf = next(c for c in context.cookies() if c["name"] == "kc_csrf")
        context.clear_cookies(name="kc_csrf")
        page.fill('#ae-form [name="action"]', "cold flannel")
        _step(page, "#add-ae")
        expect(page.locator("#swap-error-ae-form")).to_contain_text("403")
        expect(page.locator('#ae-form [name="action"]')).to_have_value("cold flannel")
        context.add_cookies([csrf])  # type: ignore[list-item]

        # the login expired while the page was open: re-login returns with the values (the
        # app's clock, which login and token checks use too, stands at T0)
        db.execute(
            update(AuthToken)
            .where(AuthToken.kind == TokenKind.session)
            .values(last_used_at=T0 - timedelta(hours=2))
        )
        db.commit()
        page.select_option("#f-term", "headache")
        page.fill('#ae-form [name="other_text"]', "")
        _step(page, "#add-ae")
        expect(page.locator("#swap-error-ae-form")).to_contain_text("login has expired")
        page.click("#swap-error-ae-form a.relogin")
        page.fill("#email", w["nurse"])
        page.fill("#password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_contain_text("Session #")
        expect(page.locator('#ae-form [name="action"]')).to_have_value("cold flannel")
        expect(page.locator("#f-term")).to_have_value("headache")
        expect(page.locator("#swap-error-ae-form")).to_contain_text("NOT saved yet")
        assert count(db, AdverseEvent) == 0
        _step(page, "#add-ae")
        expect(page.locator("#ae-list")).to_contain_text("cold flannel")
        context.close()
    assert count(db, AdverseEvent) == 1 and count(db, VitalSign) == 1


def test_reminders_refresh_and_the_login_stays_alive_only_while_in_use(
    settings: Settings, db: Session, browser: Browser
) -> None:
    app = create_app(settings.model_copy(update={"session_refresh_seconds": 1}))
    w = _world(db, "esketamine")
    clock = install_clock(app)
    with live_server(app) as base:
        page = browser.new_page()
        sign_in(page, base, w["nurse"], None)
        sid = _start(page, base, w["patient_id"])
        db.execute(
            update(TreatmentSession)
            .where(TreatmentSession.id == sid)
            .values(dose_start=T0, last_device_at=T0, dose_end=T0, given_dose_mg=56, devices=2)
        )
        db.commit()
        page.reload()
        expect(page.locator("#vitals-due li")).to_contain_text("upcoming")

        def last_used() -> Any:
            value = db.execute(
                select(AuthToken.last_used_at).where(
                    AuthToken.user_id == w["nurse_id"], AuthToken.kind == TokenKind.session
                )
            ).scalar_one()
            db.commit()  # SQLite: end the transaction (BEGIN IMMEDIATE holds the write lock)
            return value

        def wait_refresh() -> None:
            before = page.evaluate("document.body.getAttribute('data-refreshed') || ''")
            page.wait_for_function(
                "(b) => (document.body.getAttribute('data-refreshed') || '') !== b",
                arg=before,
                timeout=10_000,
            )

        # no input: the refresh updates the reminder but does not extend the login (login
        # and token checks use the app's clock too)
        clock.set(minutes=41)
        old = clock.now - timedelta(seconds=90)
        db.execute(update(AuthToken).values(last_used_at=old))
        db.commit()
        wait_refresh()
        expect(page.locator("#vitals-due li")).to_contain_text("due")
        expect(page.locator("#since-dose")).to_have_text("41 min")
        assert abs((last_used() - old).total_seconds()) < 1

        # typing on the page: the refresh keeps the login alive
        page.fill('#vitals-form [name="heart_rate"]', "7")
        page.keyboard.type("2")
        wait_refresh()
        wait_refresh()
        assert (last_used() - old).total_seconds() > 60
        clock.set(minutes=60)
        wait_refresh()
        expect(page.locator("#vitals-due li")).to_contain_text("overdue")
        expect(page.locator('#vitals-form [name="heart_rate"]')).to_have_value("72")
        page.close()


def test_rems_labels_print_view_and_plan_wording(
    app: FastAPI, db: Session, browser: Browser
) -> None:
    """Issue 13.21: every REMS input has a programmatic label; the printed session page has
    no navigation or controls; the plan says "56 mg (2 devices)" once and offers only the
    chosen protocol's variants."""
    w = _world(db, "esketamine")
    install_clock(app)
    with live_server(app) as base:
        page = browser.new_page()
        sign_in(page, base, w["clinician"], None)
        _start(page, base, w["patient_id"])
        unlabelled = page.evaluate(
            """() => Array.from(document.querySelectorAll('#rems-form input:not([type=hidden]),'
                + ' #rems-form select')).filter(el => el.labels.length === 0).map(el => el.id)"""
        )
        assert unlabelled == []
        assert page.locator("#rems-form input:not([type=hidden]), #rems-form select").count() >= 14
        expect(page.get_by_label("Provider telephone")).to_have_count(1)

        page.emulate_media(media="print")
        expect(page.locator("header nav")).to_be_hidden()
        expect(page.locator("#vitals-form")).to_be_hidden()
        expect(page.locator("#save-checklist")).to_be_hidden()
        expect(page.locator("#vitals-table")).to_be_visible()
        expect(page.locator("#session-summary")).to_be_visible()
        page.emulate_media(media="screen")

        page.goto(f"{base}/patients/{w['patient_id']}/plan")
        assert "56 mg 56 mg" not in " ".join(page.locator("#sessions").inner_text().split())
        expect(page.locator("#sessions")).to_contain_text("56 mg (2 devices)")
        page.select_option("#protocol_id", "iv-ketamine-induction")
        visible = page.evaluate(
            """() => Array.from(document.querySelectorAll('#variant optgroup'))
                .filter(g => !g.hidden).map(g => g.getAttribute('data-protocol'))"""
        )
        assert visible in ([], ["iv-ketamine-induction"])
        page.close()
