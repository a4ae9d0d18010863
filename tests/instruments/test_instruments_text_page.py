"""The admin page for a clinic's licensed item text: load, replace, refuse a bad entry naming
the field (nothing stored), remove; admins only, and each clinic sees only its own.

The wording below is placeholder text; no licensed MADRS, QIDS or C-SSRS wording is used.
"""

from __future__ import annotations

import json
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.instruments import get_instrument, instrument_ids
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.instruments.models import InstrumentText
from tests.assessments.support import staff
from tests.conftest import count, csrf, login
from tests.instruments.test_instruments_texts import placeholder

PAGE = "/admin/instrument-texts"


def _row(html: str, instrument_id: str) -> str:
    found = re.search(rf'<tr id="text-{instrument_id}">(.*?)</tr>', html, re.S)
    assert found, instrument_id
    return found.group(1)


def test_page_lists_every_withheld_instrument_and_no_text(client: TestClient, db: Session) -> None:
    a = staff(db, "alpha", Role.admin)
    login(client, a.email)
    page = client.get(PAGE)
    assert page.status_code == 200
    withheld = [i for i in instrument_ids() if get_instrument(i).licence.item_text == "withheld"]
    assert {"madrs", "qids-sr16", "cssrs-screen-slv"} <= set(withheld)
    for iid in withheld:
        row = _row(page.text, iid)
        assert "not loaded" in row and f"0 of {len(get_instrument(iid).items)}" in row
    assert 'id="text-phq9"' not in page.text  # shipped text: nothing to load
    assert 'href="/admin/instrument-texts"' in page.text  # linked in the admin nav


def test_load_replace_and_remove_through_the_page(client: TestClient, db: Session) -> None:
    a = staff(db, "alpha", Role.admin)
    login(client, a.email)
    form = {
        "instrument": "qids-sr16",
        "texts": json.dumps(placeholder("qids-sr16")),
        "licence": "Licence ref UTSW-123",
    }
    r = client.post(PAGE, data={**form, "csrf_token": csrf(client, PAGE)})
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?loaded=qids-sr16"
    page = client.get(r.headers["location"]).text
    assert "Loaded the item text of QIDS-SR16." in page
    row = _row(page, "qids-sr16")
    assert "loaded" in row and "16 of 16" in row and "can be sent as a link" in row
    assert "Licence ref UTSW-123" in row and a.email in row
    assert "Clinic-licensed wording" not in page  # the text itself is never shown
    stored = db.execute(select(InstrumentText)).scalar_one()
    db.commit()
    assert stored.clinic_id == a.clinic_id and stored.loaded_by_id == a.uid
    assert stored.texts["16"] == "Clinic-licensed wording for item 16"

    # Replacing: one row, the new text and note; one item of 16 is not enough for links.
    form = {"instrument": "qids-sr16", "texts": '{"1": "Clinic-licensed wording v2"}',
            "licence": "Renewed"}  # fmt: skip
    r = client.post(PAGE, data={**form, "csrf_token": csrf(client, PAGE)})
    assert r.status_code == 303
    row = _row(client.get(PAGE).text, "qids-sr16")
    assert "1 of 16" in row and "rater form only" in row and "Renewed" in row
    db.expire_all()
    stored = db.execute(select(InstrumentText)).scalar_one()
    db.commit()
    assert stored.texts == {"1": "Clinic-licensed wording v2"}

    r = client.post(f"{PAGE}/remove", data={"instrument": "qids-sr16",
                                            "csrf_token": csrf(client, PAGE)})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"] == f"{PAGE}?removed=qids-sr16"
    page = client.get(r.headers["location"]).text
    assert "Removed the item text of QIDS-SR16." in page
    assert "not loaded" in _row(page, "qids-sr16")
    assert count(db, InstrumentText) == 0

    # Removing again names the instrument; the service audited each change under the admin.
    r = client.post(f"{PAGE}/remove", data={"instrument": "qids-sr16",
                                            "csrf_token": csrf(client, PAGE)})  # fmt: skip
    assert r.status_code == 422 and "no text loaded for qids-sr16" in r.text
    events = list(db.execute(
        select(AuditEvent).where(AuditEvent.resource == "instrument_text")
        .order_by(AuditEvent.seq)
    ).scalars())  # fmt: skip
    db.commit()
    assert [(e.action, e.actor_email, e.channel) for e in events] == [
        ("create", a.email, "page"), ("update", a.email, "page"), ("delete", a.email, "page"),
    ]  # fmt: skip
    assert {e.resource_id for e in events} == {f"{a.clinic_id}:qids-sr16"}


@pytest.mark.parametrize(
    ("texts", "licence", "field", "reason"),
    [
        ('{"99": "Clinic-licensed wording for item 99"}', "Licence 1", "texts.99",
         "is not an item of qids-sr16"),
        ('{"1": ""}', "Licence 1", "texts.1", "must be a non-empty string"),
        ('{"1": "Clinic-licensed wording for item 1"', "Licence 1", "texts",
         "is not valid JSON"),
        ('["Clinic-licensed wording for item 1"]', "Licence 1", "texts", "must be a JSON object"),
        ("{}", "Licence 1", "texts", "must give the text of at least one item"),
        ('{"1": "Clinic-licensed wording for item 1"}', "  ", "licence",
         "must say who granted the licence"),
    ],
)  # fmt: skip
def test_a_bad_entry_is_named_and_nothing_is_stored(
    client: TestClient, db: Session, texts: str, licence: str, field: str, reason: str
) -> None:
    a = staff(db, "alpha", Role.admin)
    login(client, a.email)
    form = {"instrument": "qids-sr16", "texts": texts, "licence": licence}
    r = client.post(PAGE, data={**form, "csrf_token": csrf(client, PAGE)})
    assert r.status_code == 422
    errors = re.search(r'id="form-errors">(.*?)</div>', r.text, re.S)
    assert errors and f"<strong>{field}</strong>: {reason}" in errors.group(1)
    assert 'value="qids-sr16" selected' in r.text  # the form comes back as typed
    assert count(db, InstrumentText) == 0
    audited = db.execute(select(AuditEvent).where(AuditEvent.resource == "instrument_text"))
    assert audited.all() == []
    db.commit()


def test_unknown_or_shipped_instrument_is_refused(client: TestClient, db: Session) -> None:
    a = staff(db, "alpha", Role.admin)
    login(client, a.email)
    good = '{"1": "Clinic-licensed wording for item 1"}'
    for iid, reason in (("nope", "instrument"), ("phq9", "already ships with ketacare")):
        form = {"instrument": iid, "texts": good, "licence": "Licence 1"}
        r = client.post(PAGE, data={**form, "csrf_token": csrf(client, PAGE)})
        assert r.status_code == 422 and reason in r.text
    assert count(db, InstrumentText) == 0


@pytest.mark.parametrize("role", [Role.nurse, Role.clinician])
def test_staff_who_are_not_admins_get_403(client: TestClient, db: Session, role: Role) -> None:
    a = staff(db, "alpha", role)
    login(client, a.email)
    assert client.get(PAGE).status_code == 403
    form = {"instrument": "qids-sr16", "texts": json.dumps(placeholder("qids-sr16")),
            "licence": "Licence 1"}  # fmt: skip
    r = client.post(PAGE, data={**form, "csrf_token": csrf(client, "/patients")})
    assert r.status_code == 403
    r = client.post(f"{PAGE}/remove", data={"instrument": "qids-sr16",
                                            "csrf_token": csrf(client, "/patients")})  # fmt: skip
    assert r.status_code == 403
    assert count(db, InstrumentText) == 0
    client.cookies.clear()
    r = client.get(PAGE)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")


def test_each_clinic_sees_and_removes_only_its_own(client: TestClient, db: Session) -> None:
    a, b = staff(db, "alpha", Role.admin), staff(db, "beta", Role.admin)
    login(client, a.email)
    form = {"instrument": "madrs", "texts": json.dumps(placeholder("madrs")),
            "licence": "Alpha licence"}  # fmt: skip
    assert client.post(PAGE, data={**form, "csrf_token": csrf(client, PAGE)}).status_code == 303
    row = _row(client.get(PAGE).text, "madrs")
    assert "10 of 10" in row and "Alpha licence" in row
    assert "rater form only" in row  # MADRS is clinician-rated: never a patient link

    client.cookies.clear()
    login(client, b.email)
    page = client.get(PAGE).text
    row = _row(page, "madrs")
    assert "not loaded" in row and "0 of 10" in row
    assert "Alpha licence" not in page and a.email not in page
    r = client.post(f"{PAGE}/remove", data={"instrument": "madrs",
                                            "csrf_token": csrf(client, PAGE)})  # fmt: skip
    assert r.status_code == 422
    stored = db.execute(select(InstrumentText)).scalar_one()
    db.commit()
    assert stored.clinic_id == a.clinic_id
