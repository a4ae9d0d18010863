"""The patient portal (issue 21.4): sign-in by e-mailed one-time link through a real local SMTP
server, the patient's own page, and nothing of anyone else's."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.assessments.models import Source
from ketacare.features.assessments.service import store_assessment
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role, User
from ketacare.features.patients.models import Patient
from ketacare.features.portal.models import PortalLink
from ketacare.settings import Settings
from tests.assessments.support import body_text, smtp_server
from tests.conftest import count, csrf, login, make_clinic, make_user
from tests.portal.support import (
    CONTACT,
    PHQ9_9,
    PHQ9_21,
    clinic_id,
    due_link,
    fill_chart,
    link_path,
    make_patient,
    smtp_app,
)

SENT = "If this address belongs to a patient of the clinic, we have sent a sign-in link"


def ask(client: TestClient, email: str) -> tuple[int, str]:
    token = csrf(client, "/portal/sign-in")
    r = client.post("/portal/sign-in", data={"email": email, "csrf_token": token})
    return r.status_code, r.text


def follow(client: TestClient, path: str) -> int:
    """Open the link page, then press its button; return the POST's status."""
    assert client.get(path).status_code == 200
    r = client.post(path, data={"csrf_token": client.cookies.get("kc_csrf")})
    return r.status_code


def test_first_sign_in_creates_the_account_and_links_the_record(
    db: Session, settings: Settings
) -> None:
    cid = clinic_id(db)
    patient = make_patient(db, cid, "Robin@Example.org ")  # typed by staff, case and space
    pid = patient.id
    with smtp_server() as smtp, TestClient(smtp_app(settings, smtp), follow_redirects=False) as c:
        status, text = ask(c, "robin@example.org")
        assert status == 200 and SENT in text and "15 minutes" in text
        path = link_path(smtp)
        (mail,) = smtp.messages
        assert mail["To"] == "robin@example.org"
        body = body_text(mail)
        assert "Robin" not in body and "Example" not in body.split("@")[0]  # no name
        # Only the HMAC is stored, never the token.
        token = path.rsplit("/", 1)[1]
        stored = db.execute(select(PortalLink)).scalar_one()
        db.commit()
        assert stored.token_hash != token and token not in stored.token_hash
        assert stored.expires_at - stored.created_at == timedelta(minutes=15)
        # Opening the page does not spend the link (mail scanners fetch links).
        assert c.get(path).status_code == 200
        r = c.post(path, data={"csrf_token": c.cookies.get("kc_csrf")})
        assert r.status_code == 303 and r.headers["location"] == "/me"
        page = c.get("/me")
        assert page.status_code == 200 and "<h1>Your page</h1>" in page.text
        # Single use: the second press is refused, and so is a fresh look at it.
        again = c.post(path, data={"csrf_token": c.cookies.get("kc_csrf")})
        assert again.status_code == 410 and "already been used" in again.text
        assert c.get(path).status_code == 410
        # A normal login session: the account page works, logout ends it.
        assert c.get("/account").status_code == 200
    db.expire_all()
    user = db.execute(select(User).where(User.email == "robin@example.org")).scalar_one()
    assert user.role == Role.patient and user.clinic_id == cid
    assert db.get(Patient, pid).user_id == user.id  # type: ignore[union-attr]
    logins = db.execute(
        select(AuditEvent).where(AuditEvent.action == "login", AuditEvent.resource == "portal_link")
    ).scalars()
    assert [(e.actor_id, e.patient_id, e.channel) for e in logins] == [(user.id, pid, "link")]
    db.commit()


def test_same_answer_whatever_the_address(db: Session, settings: Settings) -> None:
    """Unknown address, a staff address, an address on two records: the same page, no mail."""
    cid = clinic_id(db)
    make_patient(db, cid, "robin@example.org")
    make_patient(db, cid, "twins@example.org", "Ann")
    make_patient(db, cid, "twins@example.org", "Bea")
    staff = make_user(db, make_clinic(db), Role.nurse, email="nurse@example.org")
    assert staff.id
    with smtp_server() as smtp, TestClient(smtp_app(settings, smtp), follow_redirects=False) as c:
        answers = {e: ask(c, e) for e in ("robin@example.org", "nobody@example.org",
                                          "nurse@example.org", "twins@example.org")}  # fmt: skip
        smtp.wait(1)
        assert len(smtp.messages) == 1 and smtp.messages[0]["To"] == "robin@example.org"
    strip = {e: (s, t.replace(e, "")) for e, (s, t) in answers.items()}
    assert len(set(strip.values())) == 1, "the answer must not depend on the address"
    assert count(db, PortalLink) == 1


def test_bad_input_names_the_field_and_stores_nothing(db: Session, settings: Settings) -> None:
    clinic_id(db)
    with smtp_server() as smtp, TestClient(smtp_app(settings, smtp), follow_redirects=False) as c:
        for bad in ("", "   ", "not-an-address", "a b@example.org"):
            status, text = ask(c, bad)
            assert status == 422 and "E-mail address" in text, bad
        status, text = ask(c, "x" * 330 + "@e.org")
        assert status == 422 and "email" in text and "320" in text
        assert c.get("/portal/link/short").status_code == 404
        assert c.get("/portal/link/" + "x" * 43).status_code == 404
    assert smtp.messages == []
    assert count(db, PortalLink) == 0


def test_requests_are_rate_limited_per_email_and_per_address(
    db: Session, settings: Settings
) -> None:
    cid = clinic_id(db)
    make_patient(db, cid, "robin@example.org")
    with smtp_server() as smtp:
        app = smtp_app(settings, smtp, portal_email_rate_limit=2, portal_rate_limit=4)
        with TestClient(app, follow_redirects=False) as c:
            assert [ask(c, "robin@example.org")[0] for _ in range(3)] == [200, 200, 429]
            r_status, text = ask(c, "robin@example.org")
            assert r_status == 429 and "too many sign-in requests" in text.lower()
            # Another address typed from the same client: the per-address limit (4) is hit.
            assert ask(c, "other@example.org")[0] == 429
        smtp.wait(2)
        assert len(smtp.messages) == 2


def test_expired_link_is_refused(db: Session, settings: Settings) -> None:
    cid = clinic_id(db)
    make_patient(db, cid, "robin@example.org")
    with smtp_server() as smtp:
        app = smtp_app(settings, smtp, portal_link_minutes=5)
        with TestClient(app, follow_redirects=False) as c:
            ask(c, "robin@example.org")
            path = link_path(smtp)
            app.state.clock = lambda: utcnow() + timedelta(minutes=6)
            r = c.get(path)
            assert r.status_code == 410 and "expired" in r.text
            r = c.post(path, data={"csrf_token": c.cookies.get("kc_csrf")})
            assert r.status_code == 410
            assert c.get("/me").headers["location"].startswith("/login")
    assert count(db, User) == 0


def test_existing_patient_account_signs_in_by_link(db: Session, settings: Settings) -> None:
    """An account staff made before the portal (linked by e-mail) is reused, not duplicated."""
    clinic = make_clinic(db)
    account = make_user(db, clinic, Role.patient, email="robin@example.org")
    patient = make_patient(db, clinic.id, "robin@example.org")
    uid, pid = account.id, patient.id
    with smtp_server() as smtp, TestClient(smtp_app(settings, smtp), follow_redirects=False) as c:
        ask(c, "robin@example.org")
        assert follow(c, link_path(smtp)) == 303
    assert count(db, User) == 1
    db.expire_all()
    assert db.get(Patient, pid).user_id == uid  # type: ignore[union-attr]
    db.commit()


def test_portal_shows_the_patients_own_record(db: Session, settings: Settings) -> None:
    now = utcnow()
    cid = clinic_id(db)
    patient = make_patient(db, cid, "robin@example.org")
    chart = fill_chart(db, settings, patient, now)
    other = make_patient(db, cid, "sam@example.org", "Sam", "Other")
    store_assessment(db, other, "gad7", [3] * 7, Source.clinician, Actor.cli(cid), now=now)
    db.commit()
    with smtp_server() as smtp, TestClient(smtp_app(settings, smtp), follow_redirects=False) as c:
        ask(c, "robin@example.org")
        assert follow(c, link_path(smtp)) == 303
        page = c.get("/me").text
        # Upcoming visit with the pre-visit instructions.
        assert "Main Street" in page and "Arrange a ride home" in page
        # The due questionnaire, answerable from the page.
        assert "Patient Health Questionnaire" in page and "Fill it in now" in page
        # The consent to sign, readable now.
        assert "Consent to IV ketamine" in page and "What the treatment is." in page
        # The trend in plain language, with the chart.
        assert "Your PHQ-9 score went from 21 at the start to 9 — a 57% drop." in page
        assert "<svg" in page
        # Item 9 > 0 was 45 days ago; the latest PHQ-9 is negative: no crisis panel.
        assert 'id="crisis-panel"' not in page
        assert CONTACT in page
        # Nothing of the other patient.
        assert "Sam" not in page and "GAD-7" not in page
        # Answer now: a fresh one-time link, then the questionnaire itself.
        token = c.cookies.get("kc_csrf")
        r = c.post(f"/me/questionnaires/{chart.invitation_id}", data={"csrf_token": token})
        assert r.status_code == 303 and r.headers["location"].startswith("/a/")
        assert c.get(r.headers["location"]).status_code == 200
    reads = db.execute(
        select(AuditEvent).where(AuditEvent.resource == "portal", AuditEvent.action == "read")
    ).scalars()
    assert [e.patient_id for e in reads] == [chart.patient_id]
    db.commit()


def test_crisis_panel_after_a_recent_item_9_answer(
    db: Session, settings: Settings, client: TestClient
) -> None:
    now = utcnow()
    clinic = make_clinic(db)
    account = make_user(db, clinic, Role.patient, email="robin@example.org")
    patient = make_patient(db, clinic.id, "robin@example.org")
    assert account.id
    store_assessment(db, patient, "phq9", PHQ9_9, Source.clinician, Actor.cli(clinic.id),
                     completed_at=now - timedelta(days=20), now=now)  # fmt: skip
    store_assessment(db, patient, "phq9", PHQ9_21, Source.clinician, Actor.cli(clinic.id),
                     completed_at=now - timedelta(days=3), now=now)  # fmt: skip
    db.commit()
    login(client, "robin@example.org")
    page = client.get("/me").text
    assert 'id="crisis-panel"' in page and "988lifeline.org" in page
    assert "went from 9 at the start to 21 — a 133% rise" in page


def test_patient_cannot_open_another_patients_questionnaire(
    db: Session, settings: Settings, client: TestClient
) -> None:
    now = utcnow()
    cid = clinic_id(db)
    mine = make_patient(db, cid, "robin@example.org")
    fill_chart(db, settings, mine, now)
    other = make_patient(db, cid, "sam@example.org", "Sam")
    theirs = due_link(db, settings, other, now)
    other_id = other.id
    make_user(db, make_clinic(db), Role.patient, email="robin@example.org")
    login(client, "robin@example.org")
    token = client.cookies.get("kc_csrf")
    r = client.post(f"/me/questionnaires/{theirs}", data={"csrf_token": token})
    assert r.status_code == 404
    for staff_page in ("/patients", f"/patients/{other_id}", "/alerts", "/today"):
        assert client.get(staff_page).status_code == 403, staff_page
    assert "Sam" not in client.get("/me").text


def test_staff_and_unlinked_accounts(db: Session, app: FastAPI) -> None:
    clinic = make_clinic(db)
    make_user(db, clinic, Role.patient, email="lonely@example.org")
    nurse = make_user(db, clinic, Role.nurse)
    with TestClient(app, follow_redirects=False) as c:
        login(c, "lonely@example.org")
        assert "not linked to a patient record" in c.get("/me").text
        assert c.get("/portal/sign-in").headers["location"] == "/me"
    with TestClient(app, follow_redirects=False) as c:
        login(c, nurse.email)
        assert c.get("/me").headers["location"] == "/home"
        r = c.post("/me/questionnaires/1", data={"csrf_token": c.cookies.get("kc_csrf")})
        assert r.status_code == 403


def test_signing_in_retires_earlier_links(db: Session, settings: Settings) -> None:
    cid = clinic_id(db)
    make_patient(db, cid, "robin@example.org")
    with smtp_server() as smtp, TestClient(smtp_app(settings, smtp), follow_redirects=False) as c:
        ask(c, "robin@example.org")
        first = link_path(smtp, 1)
        ask(c, "robin@example.org")
        second = link_path(smtp, 2)
        assert first != second
        assert follow(c, second) == 303
        assert c.get(first).status_code == 410


def test_expired_questionnaire_is_refused_on_the_page(
    db: Session, settings: Settings, app: FastAPI
) -> None:
    now = utcnow()
    clinic = make_clinic(db)
    make_user(db, clinic, Role.patient, email="robin@example.org")
    patient = make_patient(db, clinic.id, "robin@example.org")
    # Due long ago: the link closes 10 minutes from now (a login session outlives that).
    lifetime = timedelta(hours=settings.assessment_link_hours)
    invitation = due_link(db, settings, patient, now - lifetime + timedelta(minutes=70))
    with TestClient(app, follow_redirects=False) as c:
        login(c, "robin@example.org")
        app.state.clock = lambda: utcnow() + timedelta(minutes=20)
        r = c.post(
            f"/me/questionnaires/{invitation}", data={"csrf_token": c.cookies.get("kc_csrf")}
        )
        assert r.status_code == 410 and "expired" in r.text and "<h1>Your page</h1>" in r.text


def test_patient_signs_a_consent_remotely_from_the_portal(db: Session, settings: Settings) -> None:
    """Issue 19.5, signing by link: the patient signs in by the e-mailed one-time link and signs
    the consent on their own device; the PDF says so; nothing of another patient is signable."""
    import base64
    import io
    import subprocess

    from PIL import Image

    from ketacare.features.consent.models import ConsentDocument, ConsentTemplate

    now = utcnow()
    cid = clinic_id(db)
    patient = make_patient(db, cid, "robin@example.org")
    fill_chart(db, settings, patient, now)
    template_id = db.scalars(select(ConsentTemplate.id)).one()
    db.commit()
    png = io.BytesIO()
    Image.new("RGB", (60, 20), "white").save(png, format="PNG")
    drawn = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
    with smtp_server() as smtp, TestClient(smtp_app(settings, smtp), follow_redirects=False) as c:
        ask(c, "robin@example.org")
        assert follow(c, link_path(smtp)) == 303
        page = c.get("/me").text
        assert f'href="/me/consent/{template_id}"' in page
        form = c.get(f"/me/consent/{template_id}")
        assert form.status_code == 200 and f'action="/me/consent/{template_id}"' in form.text
        token = c.cookies.get("kc_csrf") or ""
        data = {"csrf_token": token, "typed_name": "Robin Patient", "signature": drawn}
        r = c.post(f"/me/consent/{template_id}", data=data)  # the attestation is missing
        assert r.status_code == 422 and "attested" in r.text
        assert count(db, ConsentDocument) == 0
        r = c.post(f"/me/consent/{template_id}", data=data | {"attested": "on"})
        assert r.status_code == 303 and r.headers["location"].startswith("/me")
        assert "Nothing to sign right now." in c.get("/me").text
    doc = db.scalars(select(ConsentDocument)).one()
    assert doc.patient_id == patient.id and doc.signer_role == "patient"
    text = subprocess.run(
        ["pdftotext", "-", "-"], input=doc.pdf, capture_output=True, check=True
    ).stdout.decode()
    assert "remotely in the patient portal" in " ".join(text.split())
    db.commit()
