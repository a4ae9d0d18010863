"""The clinic's admin edits the REMS Patient Enrollment Form's text on the consent templates
page (issue 19: "the clinic edits it as a new version"): the form is listed beside the consent
forms, its Edit link starts a new version from the current text, and the saved version keeps
the document kind, so the patient's next enrolment form is the edited one."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from playwright.sync_api import expect
from sqlalchemy.orm import Session

from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.consent import service as consent
from ketacare.features.rems import service as rems
from tests.axe import assert_accessible
from tests.browser import live_server, require_chromium, shared_chromium, sign_in
from tests.conftest import csrf, login, make_clinic, make_user
from tests.sessions.support import T0

EDITED = "Our clinic's enrolment form, reviewed 2026-12."


@dataclass(frozen=True)
class World:
    clinic_id: int
    form_id: int
    admin: str
    nurse: str


def _world(db: Session) -> World:
    clinic = make_clinic(db, "public")
    admin = make_user(db, clinic, Role.admin)
    nurse = make_user(db, clinic, Role.nurse)
    form = rems.enrolment_template(db, Actor.for_user(admin, "page"), clinic.id, T0)
    db.commit()
    return World(clinic.id, form.id, admin.email, nurse.email)


def _current(db: Session, clinic_id: int) -> list[tuple[int, str, bool]]:
    """The newest enrolment form version (the read's transaction ends here: on SQLite it holds
    the write lock the app's next request needs)."""
    db.expire_all()
    found = [
        (t.version, t.body, t.countersign)
        for t in consent.latest_templates(db, clinic_id, consent.REMS_ENROLMENT)
    ]
    db.rollback()
    return found


def test_admin_edits_the_enrolment_form_as_a_new_version(client: TestClient, db: Session) -> None:
    w = _world(db)
    login(client, w.admin)
    page = client.get("/consent")
    assert page.status_code == 200
    assert "REMS enrolment form" in page.text and f"/consent?edit={w.form_id}" in page.text
    edit = client.get(f"/consent?edit={w.form_id}")
    assert "New version of rems-enrolment (from version 1)" in edit.text
    assert "Edit this text to your clinic&#39;s form before use." in edit.text
    saved = client.post(
        "/consent/templates",
        data={
            "csrf_token": csrf(client, "/consent"),
            "key": "rems-enrolment",
            "title": rems.ENROLMENT_TITLE,
            "body": EDITED,
            "attestation": rems.ENROLMENT_ATTESTATION,
            "countersign": "on",
        },
    )
    assert saved.status_code == 303, saved.text
    assert _current(db, w.clinic_id) == [(2, EDITED, True)]
    # The patient's next enrolment form is the edited one.
    actor = Actor.cli(w.clinic_id)
    assert rems.enrolment_template(db, actor, w.clinic_id, T0).version == 2
    db.rollback()
    # A new key from this page is a consent form, as before.
    client.post(
        "/consent/templates",
        data={"csrf_token": csrf(client, "/consent"), "key": "iv", "title": "IV", "body": "b"},
    )
    assert [t.key for t in consent.latest_templates(db, w.clinic_id)] == ["iv"]
    # The page's list: the consent forms, then the enrolment form, read in one statement.
    both = consent.latest_templates(db, w.clinic_id, consent.CONSENT, consent.REMS_ENROLMENT)
    assert [(t.key, t.version) for t in both] == [("iv", 1), ("rems-enrolment", 2)]
    db.rollback()
    # A nurse sees no Edit link and may not save a version.
    client.cookies.clear()
    login(client, w.nurse)
    assert "/consent?edit=" not in client.get("/consent").text
    refused = client.post(
        "/consent/templates",
        data={"csrf_token": csrf(client, "/consent"), "key": "x", "title": "t", "body": "b"},
    )
    assert refused.status_code == 403
    assert _current(db, w.clinic_id) == [(2, EDITED, True)]


def test_a_template_of_another_clinic_cannot_be_opened_for_editing(
    client: TestClient, db: Session
) -> None:
    w = _world(db)
    other_admin = make_user(db, make_clinic(db, "other", "Other"), Role.admin)
    db.commit()
    login(client, other_admin.email)
    assert client.get(f"/consent?edit={w.form_id}").status_code == 404


@pytest.mark.browser
def test_admin_edits_the_enrolment_form_in_chromium(app: FastAPI, db: Session) -> None:
    """Through the page as a user does (JavaScript on): Edit, change the text, save."""
    require_chromium()
    w = _world(db)
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        sign_in(page, base, w.admin, "/consent")
        page.get_by_role("link", name=f"Edit {rems.ENROLMENT_TITLE}").click()
        expect(page.locator("#template-form h2")).to_contain_text("New version of rems-enrolment")
        assert page.locator("#key").input_value() == "rems-enrolment"
        assert page.locator("#countersign").is_checked()
        assert_accessible(page, "consent templates, editing the enrolment form")
        page.fill("#body", EDITED)
        page.click("#template-form button[type=submit]")
        page.wait_for_url(lambda url: "edit=" not in url)
        row = page.locator("#consent-templates tr", has_text="REMS enrolment form")
        expect(row.locator("td").nth(3)).to_have_text("2")
    assert _current(db, w.clinic_id) == [(2, EDITED, True)]
