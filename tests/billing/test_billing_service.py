"""Confirming codes and prior-authorisation burn-down on both databases (issue 20.1, 20.3):
signed sessions count, unsigned (cancelled) ones do not, an amendment recounts at once and
makes confirmed lines stale; a code is confirmed once per session even under a race."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ketacare.db.engine import session_factory
from ketacare.domain.billing.codes import AuthAlertConfig
from ketacare.features._kit.errors import BadRequest
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.actor import Actor
from ketacare.features.billing import queries, service
from ketacare.features.billing.models import BillingLine, LedgerEntry, PriorAuth
from ketacare.features.billing.service import AuthInput, Conflict
from tests.billing.support import amend_dose, signed, world

UTC_TZ = ZoneInfo("UTC")
NOW = datetime(2025, 4, 1, 12, tzinfo=UTC)
LEAD = AuthAlertConfig(expiry_lead_days=14, units_lead=2)


def actor(db: Session, user_id: int) -> Actor:
    from ketacare.features.auth.models import User

    user = db.get(User, user_id)
    assert user is not None
    return Actor.for_user(user, "page", "127.0.0.1")


def test_first_session_is_new_then_established(db: Session) -> None:
    w = world(db)
    first = signed(db, w, date(2025, 3, 3), 56)
    a = actor(db, w.billing.id)
    b1 = service.session_billing(db, a, first, UTC_TZ)
    assert b1.suggestion.codes == ()
    assert "BILL-ESK-NEW-PATIENT" in {n.rule_id for n in b1.suggestion.notes}
    second = signed(db, w, date(2025, 3, 6), 84)
    assert service.session_billing(db, a, second, UTC_TZ).suggestion.codes == ("G2083",)


def test_confirm_stores_lines_and_audits(db: Session) -> None:
    w = world(db)
    signed(db, w, date(2025, 3, 3), 56)
    s = signed(db, w, date(2025, 3, 6), 84)
    a = actor(db, w.billing.id)
    lines = service.confirm(db, a, s, ["G2083"], NOW, UTC_TZ)
    db.commit()
    assert [(x.code, x.units, x.charge_cents, x.session_version) for x in lines] == [
        ("G2083", 1, 129000, 1)
    ]
    # A repeated confirm stores nothing new.
    service.confirm(db, a, s, ["G2083"], NOW, UTC_TZ)
    db.commit()
    assert len(db.scalars(select(BillingLine)).all()) == 1
    events = db.scalars(select(AuditEvent).where(AuditEvent.resource == "billing_session")).all()
    assert {e.action for e in events} == {"update"}
    assert all(e.patient_id == w.patient.id for e in events)


def test_confirm_refuses_unsigned_and_unsuggested(db: Session) -> None:
    w = world(db)
    signed(db, w, date(2025, 3, 3), 56)
    open_one = signed(db, w, date(2025, 3, 6), 56, sign=False)
    a = actor(db, w.billing.id)
    with pytest.raises(Conflict):
        service.confirm(db, a, open_one, ["G2082"], NOW, UTC_TZ)
    db.rollback()


def test_confirm_refuses_a_code_not_suggested(db: Session) -> None:
    w = world(db)
    signed(db, w, date(2025, 3, 3), 56)
    s = signed(db, w, date(2025, 3, 6), 56)
    with pytest.raises(BadRequest) as err:
        service.confirm(db, actor(db, w.billing.id), s, ["G2083"], NOW, UTC_TZ)
    assert err.value.field == "codes"
    db.rollback()


def test_self_pay_confirm_posts_a_charge(db: Session) -> None:
    w = world(db)
    cov = queries.coverages(db, w.patient.id)[0]
    db.delete(cov)
    db.commit()
    signed(db, w, date(2025, 3, 3), 56)
    s = signed(db, w, date(2025, 3, 6), 56)
    service.confirm(db, actor(db, w.billing.id), s, ["G2082"], NOW, UTC_TZ)
    db.commit()
    entries = db.scalars(select(LedgerEntry)).all()
    assert [(e.kind, e.amount_cents) for e in entries] == [("charge", 90600)]
    assert service.balance(list(entries)) == 90600


def _auth(db: Session, w: object, units: int = 4) -> PriorAuth:
    from tests.billing.support import World

    assert isinstance(w, World)
    a = actor(db, w.billing.id)
    auth = service.add_prior_auth(db, a, w.patient, AuthInput(
        payer_id=w.payer.id, codes="G2082,G2083", requested_on=date(2025, 2, 20),
        status="approved", auth_number="PA-1", approved_units=units,
        start_date=date(2025, 3, 1), end_date=date(2025, 4, 10),
    ), NOW)  # fmt: skip
    db.commit()
    return auth


def test_burn_down_counts_signed_sessions_only(db: Session) -> None:
    w = world(db)
    auth = _auth(db, w)
    signed(db, w, date(2025, 3, 3), 56)  # new patient: no G-code, no unit
    assert service.usage(db, auth, date(2025, 3, 3), UTC_TZ, LEAD).used == 0
    signed(db, w, date(2025, 3, 6), 56)
    signed(db, w, date(2025, 3, 10), 84)
    u = service.usage(db, auth, date(2025, 3, 10), UTC_TZ, LEAD)
    assert (u.used, u.remaining) == (2, 2)
    assert [r.rule_id for r in u.alerts] == ["AUTH-UNITS-LOW"]
    # A session charted but never signed (cancelled) does not count.
    signed(db, w, date(2025, 3, 13), 56, sign=False)
    assert service.usage(db, auth, date(2025, 3, 13), UTC_TZ, LEAD).used == 2


def test_burn_down_follows_amendments(db: Session) -> None:
    w = world(db, payer_policy={"bills_drug_separately": True})
    auth = _auth(db, w)
    signed(db, w, date(2025, 3, 3), 56)
    s = signed(db, w, date(2025, 3, 6), 84)
    a = actor(db, w.billing.id)
    service.confirm(db, a, s, ["G2083", "S0013"], NOW, UTC_TZ)
    db.commit()
    assert service.usage(db, auth, date(2025, 3, 6), UTC_TZ, LEAD).used == 1
    amend_dose(db, w, s, 56)
    b = service.session_billing(db, a, s, UTC_TZ)
    assert b.stale and b.suggestion.codes == ("G2082", "S0013")
    # The stale G2083 line no longer counts; the amended session counts as G2082.
    assert service.usage(db, auth, date(2025, 3, 6), UTC_TZ, LEAD).used == 1
    service.confirm(db, a, s, ["G2082", "S0013"], NOW, UTC_TZ)
    db.commit()
    live = queries.lines_of_session(db, s.id)
    assert sorted((x.code, x.units, x.session_version) for x in live) == [
        ("G2082", 1, 2), ("S0013", 56, 2)
    ]  # fmt: skip
    voided = db.scalars(select(BillingLine).where(BillingLine.voided_at.is_not(None))).all()
    assert {(x.code, x.void_reason) for x in voided} == {
        ("G2083", "session amended"), ("S0013", "session amended")
    }  # fmt: skip


def test_expiry_alerts(db: Session) -> None:
    w = world(db)
    auth = _auth(db, w)
    assert service.usage(db, auth, date(2025, 3, 26), UTC_TZ, LEAD).alerts == ()
    assert [r.rule_id for r in service.usage(db, auth, date(2025, 3, 27), UTC_TZ, LEAD).alerts] == [
        "AUTH-EXPIRING"
    ]
    assert [r.rule_id for r in service.usage(db, auth, date(2025, 4, 11), UTC_TZ, LEAD).alerts] == [
        "AUTH-EXPIRED"
    ]


def test_prior_auth_input_is_checked(db: Session) -> None:
    w = world(db)
    a = actor(db, w.billing.id)
    bad = AuthInput(payer_id=w.payer.id, codes="G2082", requested_on=date(2025, 2, 1),
                    start_date=date(2025, 3, 2), end_date=date(2025, 3, 1))  # fmt: skip
    with pytest.raises(BadRequest) as err:
        service.add_prior_auth(db, a, w.patient, bad, NOW)
    assert err.value.field == "end_date"
    approved = AuthInput(payer_id=w.payer.id, codes="G2082", requested_on=date(2025, 2, 1),
                         status="approved")  # fmt: skip
    with pytest.raises(BadRequest):
        service.add_prior_auth(db, a, w.patient, approved, NOW)
    db.rollback()
    assert db.scalars(select(PriorAuth)).all() == []


def test_concurrent_confirms_store_one_line(db: Session, engine: Engine) -> None:
    w = world(db)
    signed(db, w, date(2025, 3, 3), 56)
    s = signed(db, w, date(2025, 3, 6), 56)
    sid, uid = s.id, w.billing.id
    factory = session_factory(engine)
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def confirm_once() -> None:
        barrier.wait(timeout=30)
        with factory() as own:
            try:
                session = queries.session(own, w.clinic.id, sid)
                service.confirm(own, actor(own, uid), session, ["G2082"], NOW, UTC_TZ)
                own.commit()
                outcomes.append("ok")
            except Conflict:
                own.rollback()
                outcomes.append("conflict")
            except Exception as exc:  # SQLite: the second writer may wait, then see the row
                own.rollback()
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=confirm_once) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.expire_all()
    assert len(queries.lines_of_session(db, sid)) == 1
    assert "ok" in outcomes
