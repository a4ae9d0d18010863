"""Clinic-licensed item text: loaded with the CLI (bad files exit 2, nothing stored), applied
for that clinic only (links, the patient's link page, the rater form), never for another.

The wording below is placeholder text; no licensed MADRS, QIDS or C-SSRS wording is used.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.domain.instruments import get_instrument
from ketacare.features._kit.errors import BadRequest
from ketacare.features.assessments.models import Assessment, Source
from ketacare.features.audit.models import AuditEvent
from ketacare.features.instruments import texts
from ketacare.features.instruments.models import InstrumentText
from ketacare.features.outreach import service as outreach
from ketacare.features.outreach.models import Invitation, Schedule
from ketacare.features.patients.models import Patient
from ketacare.settings import Settings
from tests.assessments.support import staff
from tests.conftest import count, csrf, login
from tests.test_cli import cli_env, run


def placeholder(instrument_id: str) -> dict[str, str]:
    """Obviously fake wording for every item."""
    inst = get_instrument(instrument_id)
    return {it.id: f"Clinic-licensed wording for item {it.id}" for it in inst.items}


def _load(db: Session, clinic_id: int, instrument_id: str) -> None:
    texts.load_text(db, clinic_id, instrument_id, placeholder(instrument_id), "Test licence 1")
    db.commit()


def test_cli_load_replace_list_unload(
    database_url: str, engine: Engine, db: Session, tmp_path: Path
) -> None:
    a = staff(db, "alpha")
    env = cli_env(database_url, tmp_path)
    good = tmp_path / "qids.json"
    good.write_text(json.dumps(placeholder("qids-sr16")), encoding="utf-8")
    base = ["instruments", "load-text", "qids-sr16", "--clinic", "alpha", "--licence"]

    r = run(env, *base, "Licence ref UTSW-123", "--file", str(good), "--by", a.email)
    assert r.returncode == 0, r.stderr
    assert "loaded 16 of 16 item texts of qids-sr16 for clinic 'alpha'" in r.stdout
    row = db.execute(select(InstrumentText)).scalar_one()
    db.commit()
    assert row.clinic_id == a.clinic_id and row.loaded_by_id == a.uid
    assert row.texts["16"] == "Clinic-licensed wording for item 16"
    assert row.licence_note == "Licence ref UTSW-123"

    # Replacing by clinic id: one row, the new text and note.
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps({"1": "Clinic-licensed wording v2"}), encoding="utf-8")
    r = run(env, "instruments", "load-text", "qids-sr16", "--clinic", str(a.clinic_id),
            "--licence", "Renewed", "--file", str(partial))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert "links need text for every item" in r.stdout  # 1 of 16: rater form only
    db.expire_all()
    row = db.execute(select(InstrumentText)).scalar_one()
    db.commit()
    assert row.texts == {"1": "Clinic-licensed wording v2"} and row.licence_note == "Renewed"

    r = run(env, "instruments", "texts", "--clinic", "alpha")
    assert r.returncode == 0 and "qids-sr16\t1/16 items" in r.stdout and "Renewed" in r.stdout
    assert "Clinic-licensed wording" not in r.stdout  # the listing never shows the text

    r = run(env, "instruments", "unload-text", "qids-sr16", "--clinic", "alpha")
    assert r.returncode == 0, r.stderr
    assert count(db, InstrumentText) == 0
    r = run(env, "instruments", "unload-text", "qids-sr16", "--clinic", "alpha")
    assert r.returncode == 2 and "no text loaded" in r.stderr
    events = db.execute(
        select(AuditEvent.action, AuditEvent.clinic_id)
        .where(AuditEvent.resource == "instrument_text")
        .order_by(AuditEvent.id)
    ).all()
    db.commit()
    # Each event belongs to the clinic, with or without --by (its admins see it in the log).
    assert [tuple(e) for e in events] == [
        ("create", a.clinic_id),
        ("update", a.clinic_id),
        ("delete", a.clinic_id),
    ]


BAD_FILES: list[tuple[str, str, list[str], str]] = [
    ("qids-sr16", '{"99": "Clinic-licensed wording"}', [], "texts.99"),
    ("qids-sr16", '{"1": "   "}', [], "texts.1"),
    ("qids-sr16", '{"1": 7}', [], "texts.1"),
    ("qids-sr16", "{}", [], "texts"),
    ("qids-sr16", '["Clinic-licensed wording"]', [], "texts"),
    ("qids-sr16", '"{\\"1\\": \\"Clinic-licensed wording\\"}"', [], "texts: must be a JSON object"),
    ("qids-sr16", "{not json", [], "--file"),
    ("qids-sr16", '{"1": "Clinic-licensed wording"}', ["--licence", " "], "licence"),
    ("phq9", '{"1": "Clinic-licensed wording"}', [], "already ships"),
    ("hamd17", '{"1": "Clinic-licensed wording"}', [], "already ships"),
    ("nope", '{"1": "Clinic-licensed wording"}', [], "instrument"),
    ("madrs", '{"1": "Clinic-licensed wording"}', ["--clinic", "nowhere"], "--clinic"),
]


def test_cli_bad_input_exits_2_and_stores_nothing(
    database_url: str, engine: Engine, db: Session, tmp_path: Path
) -> None:
    staff(db, "alpha")
    env = cli_env(database_url, tmp_path)
    path = tmp_path / "texts.json"
    for iid, body, extra, named in BAD_FILES:
        path.write_text(body, encoding="utf-8")
        args = ["--clinic", "alpha", "--licence", "Test licence 1", *extra]
        r = run(env, "instruments", "load-text", iid, "--file", str(path), *args)
        assert r.returncode == 2, (iid, body, r.stderr)
        assert named in r.stderr and "Traceback" not in r.stderr, (iid, body, r.stderr)
    missing = run(env, "instruments", "load-text", "madrs", "--clinic", "alpha",
                  "--licence", "x", "--file", str(tmp_path / "missing.json"))  # fmt: skip
    assert missing.returncode == 2 and "--file: cannot read" in missing.stderr
    assert count(db, InstrumentText) == 0


def test_schedule_after_loading_in_clinic_a_refused_in_clinic_b(db: Session) -> None:
    a, b = staff(db, "alpha"), staff(db, "beta")
    data = outreach.ScheduleInput("qids-sr16", "weekly", "2030-01-01")
    with pytest.raises(BadRequest) as exc:
        outreach.create_schedule(db, a.patient, data, a.uid)
    assert exc.value.field == "instrument" and "not loaded by this clinic" in exc.value.reason
    db.rollback()
    _load(db, a.clinic_id, "qids-sr16")
    _load(db, a.clinic_id, "cssrs-screen-slv")
    for iid in ("qids-sr16", "cssrs-screen-slv"):
        outreach.create_schedule(
            db, a.patient, outreach.ScheduleInput(iid, "once", "2030-01-01"), a.uid
        )
    db.commit()
    assert count(db, Schedule) == 2
    # Clinic B has loaded nothing: still refused, for both.
    for iid in ("qids-sr16", "cssrs-screen-slv"):
        data = outreach.ScheduleInput(iid, "once", "2030-01-01")
        with pytest.raises(BadRequest) as exc:
            outreach.create_schedule(db, b.patient, data, b.uid)
        assert exc.value.field == "instrument"
    db.rollback()
    # Loaded MADRS text does not make a clinician-rated scale linkable.
    _load(db, a.clinic_id, "madrs")
    data = outreach.ScheduleInput("madrs", "once", "2030-01-01")
    with pytest.raises(BadRequest):
        outreach.create_schedule(db, a.patient, data, a.uid)
    db.rollback()
    assert count(db, Schedule) == 2
    assert texts.clinic_instrument(db, b.clinic_id, "qids-sr16") == get_instrument("qids-sr16")


def test_schedule_page_offers_loaded_instruments_to_that_clinic_only(
    client: TestClient, db: Session
) -> None:
    a, b = staff(db, "alpha"), staff(db, "beta")
    _load(db, a.clinic_id, "qids-sr16")
    form = {"instrument_id": "qids-sr16", "recurrence": "once", "start_date": "2030-01-01"}
    login(client, a.email)
    page = client.get(f"/patients/{a.pid}/assessments").text
    options = re.search(r'id="instrument_id".*?</select>', page, re.S)
    assert options and 'value="qids-sr16"' in options.group(0)
    form["csrf_token"] = csrf(client, f"/patients/{a.pid}/assessments")
    ok = client.post(f"/patients/{a.pid}/schedules", data=form)
    assert ok.status_code == 303
    client.cookies.clear()
    login(client, b.email)
    page = client.get(f"/patients/{b.pid}/assessments").text
    options = re.search(r'id="instrument_id".*?</select>', page, re.S)
    assert options and 'value="qids-sr16"' not in options.group(0)
    form["csrf_token"] = csrf(client, f"/patients/{b.pid}/assessments")
    bad = client.post(f"/patients/{b.pid}/schedules", data=form)
    assert bad.status_code == 422 and "not loaded by this clinic" in bad.text
    assert count(db, Schedule) == 1


def _link_token(db: Session, settings: Settings, pid: int, instrument: str) -> str:
    patient = db.get(Patient, pid)
    assert patient is not None
    now = utcnow()
    out = outreach.new_link(db, settings, patient, instrument, now - timedelta(hours=1), now)
    db.commit()
    assert out is not None
    return out.url.rsplit("/", 1)[1]


def test_link_page_shows_the_clinics_text_and_scores_by_item_id(
    client: TestClient, db: Session, settings: Settings
) -> None:
    a, b = staff(db, "alpha"), staff(db, "beta")
    _load(db, a.clinic_id, "qids-sr16")
    token = _link_token(db, settings, a.pid, "qids-sr16")
    page = client.get(f"/a/{token}")
    assert page.status_code == 200
    legends = re.findall(r"<legend>(.*?)</legend>", page.text)
    assert legends == [f"{i}. Clinic-licensed wording for item {i}" for i in range(1, 17)]
    assert "how often have you been bothered" not in page.text  # the PHQ stem is not reused
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key
    data = {"csrf_token": client.cookies.get("kc_csrf") or "", "idempotency_key": key.group(1)}
    data |= {f"item_{i}": "1" for i in range(1, 17)}
    ok = client.post(f"/a/{token}", data=data)
    assert ok.status_code == 200 and "Thank you" in ok.text
    row = db.execute(select(Assessment)).scalar_one()
    db.commit()
    assert row.source == Source.link and row.total == 9 and row.answers["16"] == 1

    # A link of clinic B for the same instrument (made directly; scheduling refuses it) shows
    # no text at all: the questionnaire is not available there.
    other = _link_token(db, settings, b.pid, "qids-sr16")
    gone = client.get(f"/a/{other}")
    assert gone.status_code == 410 and "no longer available" in gone.text
    assert "Clinic-licensed wording" not in gone.text


def test_unloading_stops_links(client: TestClient, db: Session, settings: Settings) -> None:
    a = staff(db, "alpha")
    _load(db, a.clinic_id, "cssrs-screen-slv")
    now = utcnow()
    data = outreach.ScheduleInput("cssrs-screen-slv", "weekly", (now - timedelta(days=1)).date()
                               .isoformat())  # fmt: skip
    outreach.create_schedule(db, a.patient, data, a.uid)
    db.commit()
    token = _link_token(db, settings, a.pid, "cssrs-screen-slv")
    assert client.get(f"/a/{token}").status_code == 200
    assert texts.unload_text(db, a.clinic_id, "cssrs-screen-slv")
    db.commit()
    # Open links no longer show a questionnaire without text; schedules send nothing.
    page = client.get(f"/a/{token}")
    assert page.status_code == 410 and "no longer available" in page.text
    form = {"csrf_token": client.cookies.get("kc_csrf") or "", "idempotency_key": "k1"}
    posted = client.post(f"/a/{token}", data={**form, **{f"item_{i}": "0" for i in range(1, 7)}})
    assert posted.status_code == 410 and count(db, Assessment) == 0
    assert outreach.dispatch_due(db, settings, now) == []
    db.commit()
    assert count(db, Invitation) == 1  # only the link made directly above


def test_rater_form_shows_loaded_madrs_text_in_that_clinic_only(
    client: TestClient, db: Session
) -> None:
    a, b = staff(db, "alpha"), staff(db, "beta")
    _load(db, a.clinic_id, "madrs")
    inst = get_instrument("madrs")
    login(client, a.email)
    form = client.get(f"/patients/{a.pid}/assessments/new?instrument=madrs").text
    legends = re.findall(r"<legend>(.*?)</legend>", form)
    assert legends == [f"{i}. Clinic-licensed wording for item {i}" for i in range(1, 11)]
    assert "loaded by this clinic" in form
    answers = {f"item_{i}": "3" for i in range(1, 11)}
    token = client.cookies.get("kc_csrf") or ""
    r = client.post(f"/patients/{a.pid}/assessments/new",
                    data={**answers, "instrument": "madrs", "csrf_token": token})  # fmt: skip
    assert r.status_code == 303
    assert scalar_total(db) == 30  # scoring is by item id, unchanged
    client.cookies.clear()
    login(client, b.email)
    form = client.get(f"/patients/{b.pid}/assessments/new?instrument=madrs").text
    legends = re.findall(r"<legend>(.*?)</legend>", form)
    assert legends == [f"{i.id}. {i.label}" for i in inst.items]  # labels only in clinic B
    assert "Clinic-licensed wording" not in form and "Item text is not shipped" in form


def scalar_total(db: Session) -> int | None:
    db.expire_all()
    total = db.execute(select(Assessment.total)).scalar_one()
    db.commit()
    return total


@pytest.mark.parametrize(
    ("instrument", "answers", "crisis"),
    [
        ("qids-sr16", [0] * 11 + [1] + [0] * 4, True),  # item 12 above 0
        ("qids-sr16", [1] * 11 + [0] + [1] * 4, False),
        ("cssrs-screen-slv", [1, 0, 0, 0, 0, 0], True),  # any "Yes"
        ("cssrs-screen-slv", [0] * 6, False),
    ],
)
def test_crisis_text_after_a_loaded_text_link(
    client: TestClient,
    db: Session,
    settings: Settings,
    instrument: str,
    answers: list[int],
    crisis: bool,
) -> None:
    a = staff(db, "alpha")
    _load(db, a.clinic_id, instrument)
    token = _link_token(db, settings, a.pid, instrument)
    page = client.get(f"/a/{token}")
    if instrument.startswith("cssrs"):  # skip logic: questions 3-5 only after "Yes" to 2
        hint = "Answer only if you answered “Yes” to question 2; otherwise leave it blank."
        assert page.text.count(hint) == 3
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page.text)
    assert key
    data = {"csrf_token": client.cookies.get("kc_csrf") or "", "idempotency_key": key.group(1)}
    data |= {
        f"item_{i}": str(v)
        for i, v in enumerate(answers, start=1)
        if not (instrument.startswith("cssrs") and 3 <= i <= 5 and answers[1] == 0)
    }
    ok = client.post(f"/a/{token}", data=data)
    assert ok.status_code == 200 and "Thank you" in ok.text
    assert ('id="crisis-panel"' in ok.text) is crisis
