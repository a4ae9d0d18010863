"""Counts, discrepancy cases with the DEA timers, inventories and the log (issue 18.6, 18.7)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.compliance.controlled import loss_deadlines
from ketacare.features._kit.errors import BadRequest
from ketacare.features.audit.models import AuditEvent
from ketacare.features.clinics.models import Clinic
from ketacare.features.controlled import records, service
from ketacare.features.controlled.models import CsCase
from ketacare.features.controlled.pdf import inventory_pdf, log_pdf
from tests.controlled.support import CS, T0, make_site, stock, witness_of
from tests.intake_app.intake_support import make_patient
from tests.sessions.support import make_session

TZ = "America/New_York"


def test_loss_deadlines_skip_the_weekend() -> None:
    assert loss_deadlines(date(2026, 3, 6)) == (date(2026, 3, 9), date(2026, 4, 20))
    assert loss_deadlines(date(2026, 3, 3)) == (date(2026, 3, 4), date(2026, 4, 17))


def test_count_matching_the_ledger_opens_no_case(db: Session) -> None:
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    row = records.record_count(db, site.actor(), CS, T0, TZ, vial.id, 500_000)
    assert (row.expected_ug, row.counted_ug, row.case_id) == (500_000, 500_000, None)
    db.commit()


def test_significant_loss_opens_a_case_with_timers_until_closed(db: Session) -> None:
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    friday = datetime(2026, 3, 6, 20, 0, tzinfo=UTC)  # 15:00 in New York
    row = records.record_count(db, site.actor(), CS, friday, TZ, vial.id, 450_000, significant=True)
    case = db.get(CsCase, row.case_id)
    assert case is not None and case.difference_ug == -50_000
    assert (case.notice_due, case.form106_due) == (date(2026, 3, 9), date(2026, 4, 20))
    timers = records.open_cases(db, site.clinic_id, date(2026, 3, 10))
    assert [(t.id, t.notice_overdue, t.form106_overdue) for t in timers] == [(case.id, True, False)]
    boss = site.actor("clinician")
    with pytest.raises(BadRequest) as err:
        records.update_case(db, boss, CS, friday, TZ, case.id, resolution="x", close=True)
    assert err.value.field == "form106_filed"
    records.update_case(
        db, boss, CS, friday, TZ, case.id, investigation="vial cracked in safe",
        notice_sent=True, form106_filed=True, resolution="reported", close=True,
    )  # fmt: skip
    assert records.open_cases(db, site.clinic_id, date(2026, 3, 10)) == []
    db.commit()


def test_inventory_lists_the_remaining_stock_exactly_and_prints(db: Session) -> None:
    site = make_site(db)
    vials = stock(db, site, containers=3)
    actor = site.actor()
    draw = service.append(db, actor, CS, T0, vials[0].id, "draw", 500_000)
    service.append(db, actor, CS, T0, vials[0].id, "administer", 500_000, draw_id=draw.id)
    draw = service.append(db, actor, CS, T0, vials[1].id, "draw", 120_500)
    service.append(db, actor, CS, T0, vials[1].id, "administer", 100_000, draw_id=draw.id)
    service.append(db, actor, CS, T0, vials[1].id, "waste", 20_500, draw_id=draw.id,
                   method="Rx Destroyer", witnessed_by=witness_of(db, site))  # fmt: skip
    inv = records.take_inventory(
        db, site.actor("clinician"), CS, T0, site.reg_id, "biennial", "close",
        estimates={vials[1].label: 380_000},
    )  # fmt: skip
    rows = records.inventory_rows(inv)
    assert [(r["label"], r["balance_mg"], r["balance_ml"], r["opened"]) for r in rows] == [
        (vials[1].label, 379.5, 7.59, True),
        (vials[2].label, 500.0, 10.0, False),
    ]
    assert rows[0]["estimated_mg"] == 380.0
    text = records.to_csv(rows, records.INVENTORY_COLUMNS)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [p["balance_mg"] for p in parsed] == ["379.5", "500.0"]
    pdf = inventory_pdf("Biennial inventory", "Main clinic", rows, "Signed: x")
    assert pdf.startswith(b"%PDF")
    db.commit()


def test_log_names_patients_and_audits_them(db: Session) -> None:
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    clinic = db.get(Clinic, site.clinic_id)
    assert clinic is not None
    patient = make_patient(db, clinic)
    s = make_session(db, clinic, patient, drug="iv")
    actor = site.actor()
    draw = service.append(db, actor, CS, T0, vial.id, "draw", 50_000, session=s)
    service.append(db, actor, CS, T0, vial.id, "administer", 50_000, draw_id=draw.id)
    db.commit()
    rows = records.administration_log(
        db, actor, TZ, site.reg_id, date(2026, 3, 2), date(2026, 3, 2)
    )
    assert [(r["kind"], r["qty_mg"], r["patient"]) for r in rows] == [
        ("receive", 500.0, ""),
        ("draw", 50.0, patient.display_name),
        ("administer", 50.0, patient.display_name),
    ]
    db.commit()
    audit = db.execute(select(AuditEvent).where(AuditEvent.resource == "cs_log")).scalar_one()
    assert audit.action == "export" and audit.patients == f",{patient.id},"
    assert log_pdf("Administration log", "x", rows).startswith(b"%PDF")
    assert (
        records.administration_log(db, actor, TZ, site.reg_id, date(2026, 3, 3), date(2026, 3, 4))
        == []
    )
    db.commit()
