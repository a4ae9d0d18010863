"""The administration log is keyset-paged (pages, API) and streamed as CSV/PDF (exports),
with the patient's name and address on administrations (issue 18: speed; 21 CFR 1304.22(c))."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from ketacare.db.engine import session_factory
from ketacare.features._kit.errors import BadRequest
from ketacare.features.audit.models import AuditEvent
from ketacare.features.clinics.models import Clinic
from ketacare.features.controlled import records, service
from ketacare.features.controlled.pdf import log_pdf
from ketacare.features.patients import service as patients
from tests.conftest import api_token, login
from tests.controlled.support import CS, T0, make_site, stock
from tests.intake_app.intake_support import make_patient
from tests.sessions.support import make_session

TZ = "America/New_York"
DAY = date(2026, 3, 2)


def _ledger(db: Session) -> tuple[object, int, int]:
    """A site with one vial: received, then 6 draws of 10 mg for a session, each
    administered (13 events), to a patient with an address."""
    site = make_site(db)
    (vial,) = stock(db, site, containers=1)
    clinic = db.get(Clinic, site.clinic_id)
    assert clinic is not None
    patient = make_patient(db, clinic)
    patients.update_address(
        db, site.actor(), patient, T0, address_line="12 Elm St", city="Nashville", state="tn",
        postal_code="37201",
    )  # fmt: skip
    s = make_session(db, clinic, patient, drug="iv")
    actor = site.actor()
    for k in range(6):
        at = T0 + timedelta(minutes=k)
        d = service.append(db, actor, CS, at, vial.id, "draw", 10_000, session=s)
        service.append(db, actor, CS, at, vial.id, "administer", 10_000, draw_id=d.id)
    db.commit()
    return site, patient.id, s.id


def test_pages_walk_the_whole_range_in_order_and_audit_what_they_show(db: Session) -> None:
    site, patient_id, _ = _ledger(db)
    actor = site.actor()  # type: ignore[attr-defined]
    reg = site.reg_id  # type: ignore[attr-defined]
    whole = records.administration_log(db, actor, TZ, reg, DAY, DAY)
    assert len(whole) == 13
    administered = [r for r in whole if r["kind"] == "administer"]
    assert administered[0]["patient"] == "Lee, Ada"
    assert administered[0]["patient_address"] == "12 Elm St, Nashville, TN 37201"
    assert whole[0]["patient_address"] == ""  # the receipt names no patient

    seen: list[dict[str, object]] = []
    after, pages = "", 0
    while True:
        page = records.log_page(db, actor, TZ, reg, DAY, DAY, after=after, limit=5)
        seen += page.rows
        pages += 1
        if page.next is None:
            break
        after = page.next
    assert pages == 3 and seen == whole
    db.commit()
    lists = db.execute(
        select(AuditEvent.patients).where(AuditEvent.resource == "cs_log",
                                          AuditEvent.action == "list")
    ).scalars().all()  # fmt: skip
    # page 1 is the receipt and the first draws (the patient's); each page names who it shows
    assert len(lists) == 3 and all(p == f",{patient_id}," for p in lists)
    db.commit()


@pytest.mark.parametrize("cursor", ["x", "1.0", "12", "-5.3", "99999999999999999.1", "1.1.1"])
def test_a_bad_cursor_is_refused_naming_after(db: Session, cursor: str) -> None:
    site = make_site(db)
    with pytest.raises(BadRequest) as exc:
        records.log_page(db, site.actor(), TZ, site.reg_id, DAY, DAY, after=cursor)
    assert exc.value.field == "after"
    db.rollback()


def test_export_is_audited_once_and_streams_exactly_the_audited_rows(
    db: Session, engine: Engine
) -> None:
    site, patient_id, _ = _ledger(db)
    actor = site.actor()  # type: ignore[attr-defined]
    reg = site.reg_id  # type: ignore[attr-defined]
    r = records.open_log_export(db, actor, TZ, reg, DAY, DAY, "csv")
    db.commit()
    (event,) = db.execute(
        select(AuditEvent).where(AuditEvent.resource == "cs_log", AuditEvent.action == "export")
    ).scalars()
    assert event.patients == f",{patient_id}," and event.resource_id.endswith(":csv")
    db.commit()
    expected = records.administration_log(db, actor, TZ, reg, DAY, DAY)
    db.rollback()
    # an event recorded after the audit is not part of this export
    assert stock(db, site, containers=1)  # type: ignore[arg-type]
    db.commit()
    values = list(records.export_rows(session_factory(engine), r, batch=4))
    rows = [dict(zip(records.LOG_COLUMNS, v, strict=True)) for v in values]
    assert rows == expected  # exactly the rows a one-list read gave before the new receipt
    assert [x["kind"] for x in rows] == ["receive"] + ["draw", "administer"] * 6
    text = "".join(records.csv_chunks(iter(values)))
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[2]["patient_address"] == "12 Elm St, Nashville, TN 37201"
    assert text == records.to_csv(rows, records.LOG_COLUMNS)  # same cells as the one-list CSV
    assert log_pdf("Log", "x", iter(rows)).startswith(b"%PDF")
    assert log_pdf("Log", "x", iter([])).startswith(b"%PDF")


def test_api_pages_with_a_next_cursor_and_streams_the_csv(client: TestClient, db: Session) -> None:
    site, _, _ = _ledger(db)
    token = api_token(db, site.clinician)  # type: ignore[attr-defined]
    reg = site.reg_id  # type: ignore[attr-defined]
    db.commit()
    headers = {"Authorization": f"Bearer {token}"}
    base = f"/api/v1/cs/log?registration_id={reg}&start={DAY}&end={DAY}"
    first = client.get(f"{base}&limit=10", headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["rows"]) == 10 and body["next"]
    rest = client.get(f"{base}&limit=10&after={body['next']}", headers=headers).json()
    assert len(rest["rows"]) == 3 and rest["next"] is None
    assert rest["rows"][-1]["patient_address"] == "12 Elm St, Nashville, TN 37201"
    given = client.get(f"{base}&kind=administer", headers=headers).json()
    assert [x["kind"] for x in given["rows"]] == ["administer"] * 6
    assert client.get(f"{base}&kind=stolen", headers=headers).status_code == 422
    bad = client.get(f"{base}&after=nonsense", headers=headers)
    assert bad.status_code == 422 and bad.json()["detail"][0]["field"] == "after"
    assert client.get(f"{base}&limit=0", headers=headers).status_code == 422
    streamed = client.get(f"{base}&format=csv", headers=headers)
    assert streamed.status_code == 200 and streamed.headers["content-type"].startswith("text/csv")
    assert len(list(csv.DictReader(io.StringIO(streamed.text)))) == 13


def test_log_page_shows_the_address_and_links_the_next_page(
    client: TestClient, db: Session
) -> None:
    site, _, _ = _ledger(db)
    email = site.clinician.email  # type: ignore[attr-defined]
    reg = site.reg_id  # type: ignore[attr-defined]
    db.commit()
    login(client, email)
    page = client.get(f"/cs/log?registration_id={reg}&start={DAY}&end={DAY}")
    assert page.status_code == 200
    assert "12 Elm St, Nashville, TN 37201" in page.text
    assert 'id="log-next"' not in page.text  # 13 rows: one page
    pdf = client.get(f"/cs/log?registration_id={reg}&start={DAY}&end={DAY}&format=pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    bad = client.get(f"/cs/log?registration_id={reg}&start={DAY}&end={DAY}&after=zz")
    assert bad.status_code == 422 and "cursor" in bad.text


def test_a_pdf_of_a_range_too_long_is_refused_naming_end(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    site, _, _ = _ledger(db)
    monkeypatch.setattr(records, "PDF_MAX_ROWS", 12)
    actor = site.actor()  # type: ignore[attr-defined]
    reg = site.reg_id  # type: ignore[attr-defined]
    with pytest.raises(BadRequest) as exc:
        records.open_log_export(db, actor, TZ, reg, DAY, DAY, "pdf")
    assert exc.value.field == "end" and "CSV" in exc.value.reason
    records.open_log_export(db, actor, TZ, reg, DAY, DAY, "csv")  # the CSV has no limit
    records.open_log_export(db, actor, TZ, reg, DAY, DAY, "pdf", ("administer",))
    db.rollback()
