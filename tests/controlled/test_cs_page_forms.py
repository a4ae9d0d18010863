"""Registrations, counts, discrepancy cases and inventories from the pages (issue 18.1, 18.6,
18.7), on SQLite and PostgreSQL: each form stores what the API would, a bad field is a 4xx
naming it with nothing stored, and the inventory's downloads are audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.controlled import service
from ketacare.features.controlled.models import (
    CsCase,
    CsContainer,
    CsCount,
    CsInventory,
    CsRegistration,
)
from tests.conftest import login
from tests.controlled.support import CS, T0, make_site, receipt_in, valid_dea


def n(db: Session, model: type) -> int:
    value = db.scalar(select(func.count()).select_from(model)) or 0
    db.commit()
    return value


def test_registration_count_case_and_inventory_from_the_pages(
    client: TestClient, db: Session
) -> None:
    site = make_site(db)
    service.receive(db, site.actor("nurse"), CS, T0, receipt_in(site.reg_id, containers=2))
    db.commit()
    first = db.scalars(select(CsContainer).order_by(CsContainer.id)).first()
    assert first is not None
    cid, label = first.id, first.label
    clinician = site.clinician.email
    db.commit()
    login(client, clinician)
    token = client.cookies.get("kc_csrf") or ""

    # A registration: a bad DEA number names the field and stores nothing.
    form = {
        "csrf_token": token, "site_name": "Annex", "dea_number": "XX0000001",
        "address": "2 Side St", "registrant": "Dr B", "expires_on": "2029-05-31",
    }  # fmt: skip
    r = client.post("/cs/registrations", data=form)
    assert r.status_code == 422 and "dea_number" in r.text
    assert n(db, CsRegistration) == 1
    r = client.post("/cs/registrations", data=form | {"dea_number": valid_dea("BC", "112233")})
    assert r.status_code == 303 and n(db, CsRegistration) == 2

    # A count: not a number is refused; a difference opens a case shown on the dashboard.
    r = client.post(f"/cs/containers/{cid}/counts", data={"csrf_token": token, "counted_mg": "x"})
    assert r.status_code == 422 and "counted_mg" in r.text and n(db, CsCount) == 0
    r = client.post(f"/cs/containers/{cid}/counts", data={"csrf_token": token, "counted_mg": "490"})
    assert r.status_code == 303 and r.headers["location"].startswith("/cs#case-")
    case = db.scalars(select(CsCase)).one()
    case_id = case.id
    db.commit()
    dashboard = client.get("/cs").text
    assert f'id="case-{case_id}"' in dashboard and f'id="case-form-{case_id}"' in dashboard

    # The case: significant starts the timers; closing needs the resolution, the notice and
    # Form 106; a refused form stores nothing of what it carried.
    r = client.post(
        f"/cs/cases/{case_id}",
        data={"csrf_token": token, "investigation": "Recount by two nurses.", "significant": "yes"},
    )
    assert r.status_code == 303
    r = client.post(f"/cs/cases/{case_id}", data={"csrf_token": token, "close": "yes"})
    assert r.status_code == 422 and "resolution" in r.text
    r = client.post(
        f"/cs/cases/{case_id}",
        data={"csrf_token": token, "resolution": "Spill not recorded.", "close": "yes"},
    )
    assert r.status_code == 422 and "form106_filed" in r.text
    r = client.post(
        f"/cs/cases/{case_id}",
        data={
            "csrf_token": token,
            "resolution": "Spill not recorded.",
            "notice_sent": "yes",
            "form106_filed": "yes",
            "close": "yes",
        },  # a refused form stored nothing
    )
    assert r.status_code == 303
    db.expire_all()
    closed = db.get(CsCase, case_id)
    assert closed is not None and closed.closed_at is not None and closed.significant
    assert closed.investigation == "Recount by two nurses."
    assert closed.notice_sent_at is not None and closed.form106_filed_at is not None
    db.commit()

    # An inventory with an estimate for the opened container; a bad line names the field.
    inv = {"csrf_token": token, "registration_id": str(site.reg_id), "kind": "biennial",
           "timing": "close"}  # fmt: skip
    r = client.post("/cs/inventories", data=inv | {"estimates": f"{label} 480"})
    assert r.status_code == 422 and "estimates" in r.text and n(db, CsInventory) == 0
    r = client.post("/cs/inventories", data=inv | {"estimates": f"{label} = 480"})
    assert r.status_code == 303
    url = r.headers["location"]
    page = client.get(url)
    assert page.status_code == 200 and page.text.count("<tr><td>") == 2
    assert label in page.text and "480" in page.text
    csv_file = client.get(url + "?format=csv")
    assert csv_file.status_code == 200 and label in csv_file.text
    pdf = client.get(url + "?format=pdf")
    assert pdf.content.startswith(b"%PDF")
    exports = db.scalars(
        select(AuditEvent.resource_id).where(
            AuditEvent.action == "export", AuditEvent.resource == "cs_inventory"
        )
    ).all()
    assert sorted(x.split(":")[1] for x in exports) == ["csv", "pdf"]
    db.commit()


def test_nurses_may_count_but_not_take_inventories(client: TestClient, db: Session) -> None:
    site = make_site(db)
    service.receive(db, site.actor("nurse"), CS, T0, receipt_in(site.reg_id, containers=1))
    db.commit()
    nurse = site.nurse.email
    db.commit()
    login(client, nurse)
    token = client.cookies.get("kc_csrf") or ""
    data = {"csrf_token": token, "registration_id": str(site.reg_id), "kind": "initial",
            "timing": "opening"}  # fmt: skip
    assert client.post("/cs/inventories", data=data).status_code == 403
    assert n(db, CsInventory) == 0
