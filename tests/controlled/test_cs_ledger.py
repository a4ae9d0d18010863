"""Registrations, receiving, the container ledger and witnesses (issue 18.1-18.3, 18.5)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from ketacare.features._kit.errors import BadRequest, Forbidden
from ketacare.features.audit.models import AuditEvent
from ketacare.features.controlled import service
from ketacare.features.controlled.models import CsContainer, CsDraw, CsEvent, CsReceipt
from tests.conftest import PASSWORD
from tests.controlled.support import CS, T0, make_site, receipt_in, stock, valid_dea, witness_of


def test_receipt_records_every_field_and_one_labelled_container_per_vial(db: Session) -> None:
    site = make_site(db)
    vials = stock(db, site, containers=5)
    assert [v.label for v in vials] == [f"CS{vials[0].receipt_id:06d}-{n:03d}" for n in range(1, 6)]
    assert all(v.balance_ug == 500_000 and v.status == "open" and v.seq == 1 for v in vials)
    r = db.execute(select(CsReceipt)).scalar_one()
    assert (r.invoice_number, r.supplier_name, r.supplier_dea, r.ndc, r.lot) == (
        "INV-1001", "Pharma Supply Co", "PS7654329", "0409-2051-05", "LOT123",
    )  # fmt: skip
    assert r.container_ml == 10.0 and r.containers == 5 and r.receiver_email == site.nurse.email
    events = db.execute(select(CsEvent).order_by(CsEvent.id)).scalars().all()
    assert [(e.kind, e.qty_ug, e.balance_ug) for e in events] == [("receive", 500_000, 500_000)] * 5
    assert db.execute(select(AuditEvent.action).where(AuditEvent.resource == "cs_receipt")).scalar()
    db.commit()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("supplier_dea", "PS7654320"),
        ("ndc", "12"),
        ("containers", 0),
        ("container_mg", "-1"),
        ("concentration_mg_ml", None),
        ("expiry", date(9999, 1, 1)),
        ("drug", "morphine"),
    ],
)
def test_bad_receipt_names_the_field_and_writes_nothing(
    db: Session, field: str, value: object
) -> None:
    site = make_site(db)
    kw: dict[str, Any] = {field: value}
    with pytest.raises(BadRequest) as err:
        service.receive(db, site.actor(), CS, T0, receipt_in(site.reg_id, **kw))
    assert err.value.field == field
    db.rollback()
    assert db.execute(select(CsContainer)).first() is None
    db.commit()


def test_admin_may_not_receive_by_default(db: Session) -> None:
    site = make_site(db)
    with pytest.raises(Forbidden):
        service.receive(db, site.actor("admin"), CS, T0, receipt_in(site.reg_id))
    db.rollback()


def test_draw_administer_waste_with_witness_settles_the_draw(db: Session) -> None:
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    draw = service.append(db, site.actor(), CS, T0, vial.id, "draw", 60_000)
    service.append(db, site.actor(), CS, T0, vial.id, "administer", 35_000, draw_id=draw.id)
    with pytest.raises(service.LedgerRefused) as err:
        service.append(db, site.actor(), CS, T0, vial.id, "waste", 25_000, draw_id=draw.id,
                       method="sink + Rx Destroyer")  # fmt: skip
    assert err.value.reasons[0].rule_id == "CS-WIT"
    w = witness_of(db, site)
    waste = service.append(db, site.actor(), CS, T0, vial.id, "waste", 25_000, draw_id=draw.id,
                           method="Rx Destroyer", witnessed_by=w)  # fmt: skip
    db.commit()
    assert (waste.witness_email, waste.by_email) == (site.clinician.email, site.nurse.email)
    assert waste.witnessed_at == T0
    d = db.get(CsDraw, draw.id)
    assert d is not None and d.settled and (d.administered_ug, d.wasted_ug) == (35_000, 25_000)
    db.refresh(vial)
    assert vial.balance_ug == 440_000 and vial.seq == 4
    db.commit()


def test_witness_must_reauthenticate_and_be_someone_else(db: Session) -> None:
    site = make_site(db)
    with pytest.raises(BadRequest) as err:
        service.witness(db, site.actor(), CS, site.clinician.email, "wrong-password", T0)
    assert err.value.field == "witness_password"
    with pytest.raises(BadRequest) as err:
        service.witness(db, site.actor(), CS, site.nurse.email, PASSWORD, T0)
    assert err.value.field == "witness_email"
    with pytest.raises(BadRequest):  # admins may not witness by default
        service.witness(db, site.actor(), CS, site.admin.email, PASSWORD, T0)
    db.rollback()


def test_witness_optional_when_configured(db: Session) -> None:
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    relaxed = CS.model_copy(update={"waste_witness_required": False})
    draw = service.append(db, site.actor(), relaxed, T0, vial.id, "draw", 10_000)
    service.append(db, site.actor(), relaxed, T0, vial.id, "waste", 10_000, draw_id=draw.id,
                   method="sink")  # fmt: skip
    db.commit()


def test_rules_refuse_overdraw_overaccounting_and_closing_with_open_draws(db: Session) -> None:
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    actor = site.actor()
    with pytest.raises(service.LedgerRefused) as err:
        service.append(db, actor, CS, T0, vial.id, "draw", 500_001)
    assert err.value.reasons[0].rule_id == "CS-BAL" and err.value.field == "qty_mg"
    draw = service.append(db, actor, CS, T0, vial.id, "draw", 100_000)
    with pytest.raises(service.LedgerRefused) as err:
        service.append(db, actor, CS, T0, vial.id, "administer", 100_001, draw_id=draw.id)
    assert err.value.reasons[0].rule_id == "CS-DRAW"
    with pytest.raises(service.LedgerRefused) as err:
        service.append(db, site.actor("clinician"), CS, T0, vial.id, "dispose", note="expired")
    assert err.value.reasons[0].rule_id == "CS-CLOSED"
    db.commit()


def test_corrections_are_new_events_that_reverse_the_old_one(db: Session) -> None:
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    actor = site.actor()
    wrong = service.append(db, actor, CS, T0, vial.id, "draw", 100_000)
    fix = service.append(db, actor, CS, T0, vial.id, "correction", corrects=wrong.id,
                         note="typed 100 for 10")  # fmt: skip
    assert fix.delta_ug == 100_000 and fix.balance_ug == 500_000
    with pytest.raises(service.LedgerRefused) as err:
        service.append(db, actor, CS, T0, vial.id, "correction", corrects=wrong.id, note="again")
    assert err.value.reasons[0].rule_id == "CS-CORR"
    d = db.get(CsDraw, wrong.id)
    assert d is not None and d.void and d.settled
    db.commit()


def test_emptying_a_vial_and_settling_closes_it_and_then_nothing_more(db: Session) -> None:
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    actor = site.actor()
    draw = service.append(db, actor, CS, T0, vial.id, "draw", 500_000)
    service.append(db, actor, CS, T0, vial.id, "administer", 500_000, draw_id=draw.id)
    db.refresh(vial)
    assert vial.status == "closed" and vial.balance_ug == 0
    with pytest.raises(service.LedgerRefused) as err:
        service.append(db, actor, CS, T0, vial.id, "breakage", 1, note="x", witnessed_by=None)
    assert err.value.reasons[0].rule_id == "CS-CLOSED"
    db.commit()


def test_transfer_moves_the_remaining_stock_to_another_registration(db: Session) -> None:
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    other = service.create_registration(
        db, site.actor("clinician"), CS, T0, site_name="Annex",
        dea_number=valid_dea("AB", "123457"), address="2 Side St", registrant="Dr A. Smith",
        expires_on=date(2028, 1, 31),
    )  # fmt: skip
    draw = service.append(db, site.actor(), CS, T0, vial.id, "draw", 100_000)
    with pytest.raises(service.LedgerRefused):
        service.append(db, site.actor("clinician"), CS, T0, vial.id, "transfer",
                       target_registration_id=other.id)  # fmt: skip
    service.append(db, site.actor(), CS, T0, vial.id, "return", 100_000, draw_id=draw.id)
    ev = service.append(db, site.actor("clinician"), CS, T0, vial.id, "transfer",
                        target_registration_id=other.id)  # fmt: skip
    assert ev.delta_ug == -500_000
    moved = db.execute(
        select(CsContainer).where(CsContainer.registration_id == other.id)
    ).scalar_one()
    assert moved.balance_ug == 500_000 and moved.status == "open"
    db.commit()


# --- the same invariants in the database, whatever writes the rows --------------------------


def _raw(engine: Engine, sql: str, **params: object) -> None:
    with engine.begin() as conn:
        conn.execute(text(sql), params)


def test_database_refuses_update_and_delete_of_events(db: Session, engine: Engine) -> None:
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    vial_id = vial.id
    db.commit()
    for sql in (
        "UPDATE cs_event SET qty_ug = 1",
        "DELETE FROM cs_event",
        "DELETE FROM cs_container",
        "UPDATE cs_container SET balance_ug = 499000",
    ):
        with pytest.raises(DBAPIError):
            _raw(engine, sql)
    # An event that does not follow the container's balance, or takes it below zero.
    insert = (
        "INSERT INTO cs_event (clinic_id, registration_id, container_id, seq, kind, qty_ug, "
        "delta_ug, balance_ug, method, note, by_email, witness_email, occurred_at, recorded_at) "
        "VALUES (:c, :r, :v, :seq, 'draw', :q, :d, :b, '', '', 'x', '', :t, :t)"
    )
    base = {"c": site.clinic_id, "r": site.reg_id, "v": vial_id, "t": T0}
    with pytest.raises(DBAPIError):
        _raw(engine, insert, **base, seq=2, q=1000, d=-1000, b=500_000)  # wrong balance
    with pytest.raises(DBAPIError):
        _raw(engine, insert, **base, seq=3, q=1000, d=-1000, b=499_000)  # wrong sequence
    with pytest.raises((IntegrityError, DBAPIError)):
        _raw(engine, insert, **base, seq=2, q=600_000, d=-600_000, b=-100_000)  # below zero
    _raw(engine, insert, **base, seq=2, q=1000, d=-1000, b=499_000)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT balance_ug, seq FROM cs_container")).one() == (499_000, 2)


def test_database_refuses_over_accounting_a_draw(db: Session, engine: Engine) -> None:
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    draw = service.append(db, site.actor(), CS, T0, vial.id, "draw", 10_000)
    draw_id = draw.id
    db.commit()
    with pytest.raises((IntegrityError, DBAPIError)):
        _raw(engine, "UPDATE cs_draw SET administered_ug = 20000, settled = false WHERE id = :i",
             i=draw_id)  # fmt: skip
