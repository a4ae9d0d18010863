"""Waitlist offers (issue 17.2/17.6) on SQLite and PostgreSQL: a cancelled booking's chair time
is offered to the longest-waiting patient, the offers job e-mails a one-time link through a
local SMTP server, the patient takes the time (booked through every rule) or says no (offered to
the next), a faster patient wins, two runners send each offer once, a failed delivery is
recorded and retried."""

from __future__ import annotations

import email
import email.policy
import re
import threading
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ketacare.db.engine import session_factory
from ketacare.domain.course.booking import FloorRules, Kind
from ketacare.features.auth.actor import Actor
from ketacare.features.outreach.notify import SmtpNotifier, WebhookNotifier
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling import offers, service
from ketacare.features.scheduling.models import Booking, BookingStatus, WaitlistEntry, WaitStatus
from ketacare.settings import Settings
from tests.scheduling.support import GATE_OFF, MON, World, at, smtp_server, without_tokens, world
from tests.sessions.support import install_clock

RULES = FloorRules()
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def freed_slot(db: Session, waiting: int = 1) -> tuple[World, Booking]:
    """Patient 0 books Monday 09:00 on chair 1; patients 1.. join the waitlist in order; the
    booking is cancelled (committed). Returns the world and the cancelled booking."""
    w = world(db, patients=1 + waiting)
    actor = Actor.cli(w.clinic_id)
    p0 = db.get(Patient, w.patients[0])
    assert p0 is not None
    b = service.book_one(
        db, actor, NOW, p0, w.site_id, Kind.iv, w.chairs[0], at(MON, 9), RULES, "UTC",
        settings=GATE_OFF,
    )  # fmt: skip
    for i, pid in enumerate(w.patients[1:]):
        p = db.get(Patient, pid)
        assert p is not None
        entry = service.join_waitlist(db, actor, p, w.site_id, Kind.iv, MON, MON)
        entry.created_at = NOW + timedelta(minutes=i)  # a stable order of waiting
    db.commit()
    service.cancel(db, actor, NOW, b, "moved away")
    db.commit()
    return w, b


def entries(db: Session) -> dict[int, WaitStatus]:
    out = {e.patient_id: e.status for e in db.scalars(select(WaitlistEntry))}
    db.commit()
    return out


def text_of(mail: bytes) -> str:
    """The decoded text of a received mail."""
    msg = email.message_from_bytes(mail, policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    body = msg.get_body()
    assert body is not None
    return str(body.get_content())


def token_of(mail: bytes) -> str:
    found = re.search(r"/w/([A-Za-z0-9_-]+)", text_of(mail))
    assert found is not None
    return found.group(1)


def test_offer_is_mailed_and_taken_through_the_link(
    app: FastAPI, client: TestClient, db: Session, engine: Engine, settings: Settings
) -> None:
    w, _ = freed_slot(db)
    p1 = w.patients[1]
    assert entries(db) == {p1: WaitStatus.offered}
    with smtp_server() as (port, sink):
        notifier = SmtpNotifier("127.0.0.1", port, "clinic@x.example", tls="none")
        report = offers.send_due(session_factory(engine), settings, NOW, notifier)
        assert len(report.sent) == 1 and len(sink.messages) == 1
        again = offers.send_due(session_factory(engine), settings, NOW, notifier)
        assert not again.sent and len(sink.messages) == 1  # sent once
    mail = sink.messages[0]
    body = text_of(mail)
    assert "Main" in body and "09:00" in body  # the site and the local time (New York)
    for word in ("ketamine", "P1", "p1@", "dose", "PHQ"):
        assert word not in without_tokens(body)
    install_clock(app, NOW)
    token = token_of(mail)
    page = client.get(f"/w/{token}")
    assert page.status_code == 200 and "Take this time" in page.text
    csrf = client.cookies.get("kc_csrf") or ""
    r = client.post(f"/w/{token}", data={"csrf_token": csrf, "action": "take"})
    assert r.status_code == 200 and "the time is yours" in r.text
    booked = db.scalars(select(Booking).where(Booking.patient_id == p1)).one()
    assert booked.status is BookingStatus.booked and booked.starts_at == at(MON, 9)
    db.commit()
    assert entries(db) == {p1: WaitStatus.booked}
    # One answer per link.
    r = client.post(f"/w/{token}", data={"csrf_token": csrf, "action": "take"})
    assert r.status_code == 404


def test_no_thanks_offers_the_time_to_the_next_patient(
    app: FastAPI, client: TestClient, db: Session, engine: Engine, settings: Settings
) -> None:
    w, _ = freed_slot(db, waiting=2)
    p1, p2 = w.patients[1], w.patients[2]
    with smtp_server() as (port, sink):
        notifier = SmtpNotifier("127.0.0.1", port, "clinic@x.example", tls="none")
        offers.send_due(session_factory(engine), settings, NOW, notifier)
        install_clock(app, NOW)
        client.get("/screen")
        csrf = client.cookies.get("kc_csrf") or ""
        r = client.post(
            f"/w/{token_of(sink.messages[0])}", data={"csrf_token": csrf, "action": "decline"}
        )
        assert r.status_code == 200 and "next patient" in r.text
        assert entries(db) == {p1: WaitStatus.waiting, p2: WaitStatus.offered}
        offers.send_due(session_factory(engine), settings, NOW, notifier)
        assert len(sink.messages) == 2
        assert "/w/" in text_of(sink.messages[1])


def test_a_faster_patient_wins_and_the_other_keeps_their_place(
    app: FastAPI, client: TestClient, db: Session, engine: Engine, settings: Settings
) -> None:
    w, freed = freed_slot(db)
    with smtp_server() as (port, sink):
        notifier = SmtpNotifier("127.0.0.1", port, "clinic@x.example", tls="none")
        offers.send_due(session_factory(engine), settings, NOW, notifier)
    # Staff give the time to another patient before the offer is answered.
    other = db.get(Patient, w.patients[0])
    assert other is not None
    service.book_one(
        db, Actor.cli(w.clinic_id), NOW, other, w.site_id, Kind.iv, freed.chair_id,
        freed.starts_at, RULES, "UTC", settings=GATE_OFF,
    )  # fmt: skip
    db.commit()
    install_clock(app, NOW)
    client.get("/screen")
    csrf = client.cookies.get("kc_csrf") or ""
    r = client.post(f"/w/{token_of(sink.messages[0])}", data={"csrf_token": csrf, "action": "take"})
    assert r.status_code == 200 and "someone was faster" in r.text
    assert entries(db) == {w.patients[1]: WaitStatus.waiting}


def test_two_runners_send_each_offer_once_and_failures_are_retried(
    db: Session, engine: Engine, settings: Settings
) -> None:
    w, _ = freed_slot(db, waiting=1)
    actor = Actor.cli(w.clinic_id)
    # Three more waiting patients, each offered a chair time of their own.
    for i in range(3):
        p = Patient(clinic_id=w.clinic_id, given_name=f"W{i}", family_name="Test",
                    email=f"w{i}@x.example")  # fmt: skip
        db.add(p)
        db.flush()
        service.join_waitlist(db, actor, p, w.site_id, Kind.iv, MON, MON)
        db.flush()
        service.offer_slot(db, actor, NOW, w.site_id, Kind.iv, w.chairs[1], at(MON, 12 + i))
    db.commit()
    total = sum(1 for s in entries(db).values() if s is WaitStatus.offered)
    assert total == 4
    factory = session_factory(engine)
    # A webhook nobody answers: every offer is tried once, recorded, and the run goes on.
    report = offers.send_due(factory, settings, NOW, WebhookNotifier("http://127.0.0.1:9/none"))
    assert len(report.failed) == 4 and not report.sent
    rows = db.scalars(select(WaitlistEntry)).all()
    assert all(r.offer_attempts == 1 and r.offer_error and r.offer_sent_at is None for r in rows)
    db.commit()
    reports: list[Any] = [None, None]
    with smtp_server() as (port, sink):
        notifier = SmtpNotifier("127.0.0.1", port, "clinic@x.example", tls="none")
        barrier = threading.Barrier(2)

        def runner(i: int) -> None:
            barrier.wait()
            reports[i] = offers.send_due(factory, settings, NOW, notifier)

        threads = [threading.Thread(target=runner, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        sent = reports[0].sent + reports[1].sent
        assert len(sent) == len(set(sent)) == total == len(sink.messages)


@pytest.mark.browser
def test_offer_taken_in_chromium_on_a_phone(
    app: FastAPI, db: Session, engine: Engine, settings: Settings
) -> None:
    """The patient opens the mailed link on a phone and takes the time (no JavaScript needed,
    but the page is driven as a user would, with it on)."""
    from playwright.sync_api import expect

    from tests.browser import live_server, require_chromium, shared_chromium

    require_chromium()
    w, _ = freed_slot(db)
    with smtp_server() as (port, sink):
        notifier = SmtpNotifier("127.0.0.1", port, "clinic@x.example", tls="none")
        offers.send_due(session_factory(engine), settings, NOW, notifier)
    token = token_of(sink.messages[0])
    with live_server(app) as base, shared_chromium() as browser:
        page = browser.new_page(viewport={"width": 390, "height": 844})
        page.goto(f"{base}/w/{token}")
        expect(page.locator("#offer")).to_contain_text("Main")
        page.click("#offer-take")
        expect(page.locator("#offer-done")).to_contain_text("the time is yours")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert entries(db) == {w.patients[1]: WaitStatus.booked}
