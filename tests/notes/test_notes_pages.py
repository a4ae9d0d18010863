"""Note pages and CLI on SQLite and PostgreSQL: form errors name the field and store nothing,
a signed note shows author, clinic-local signing time and hash, the session page carries the
nursing-note form, the chart panel lists signed notes; ``ketacare notes`` adds templates."""

from __future__ import annotations

import json
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ketacare.features.clinics.models import Clinic
from ketacare.features.notes.models import ClinicalNote, NoteTemplateVersion
from ketacare.features.notes.queries import notes_for_chart
from ketacare.features.patients.models import Patient
from ketacare.settings import Settings
from tests.conftest import count, csrf, login
from tests.fhir.fhir_support import cli_env, run
from tests.notes.support import signed_note
from tests.sessions.support import T0, install_clock, setup


def test_pages_errors_signed_view_and_session_form(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = setup(db)
    install_clock(app, T0)
    db.execute(update(Clinic).values(timezone="America/New_York"))
    db.commit()
    pid = w["patient_id"]
    patient = db.get(Patient, pid)
    assert patient is not None
    nid = signed_note(db, w["clinician_user"], patient, "Plan text <b>kept</b>")
    login(client, w["clinician_email"])
    token = csrf(client, f"/patients/{pid}/notes")
    r = client.post(f"/patients/{pid}/notes", data={"csrf_token": token, "template": "nope"})
    assert r.status_code == 422 and "<strong>template</strong>" in r.text
    assert count(db, ClinicalNote) == 1
    page = client.get(f"/patients/{pid}/notes/{nid}").text
    assert "2025-03-03 04:00" in page  # 09:00 UTC in New York (clinic local time)
    assert w["clinician_email"] in page and "SHA-256" in page
    assert "Plan text &lt;b&gt;kept&lt;/b&gt;" in page and 'id="note-form"' not in page
    # Saving over a signed note: 409 naming the state, nothing changed.
    r = client.post(
        f"/patients/{pid}/notes/{nid}",
        data={"csrf_token": token, "version": "2", "section.plan": "changed"},
    )
    assert r.status_code == 409 and "<strong>status</strong>" in r.text
    # A draft: bad version and unknown section name their fields.
    r = client.post(f"/patients/{pid}/notes", data={"csrf_token": token,
                                                    "template": "progress-note"})  # fmt: skip
    assert r.status_code == 303
    draft_url = r.headers["location"]
    r = client.post(draft_url, data={"csrf_token": token, "version": "x"})
    assert r.status_code == 422 and "<strong>version</strong>" in r.text
    r = client.post(draft_url, data={"csrf_token": token, "version": "1", "section.zz": "x"})
    assert r.status_code == 422 and "<strong>sections.zz</strong>" in r.text
    # The session page: a nurse's nursing-note form; an empty note is refused naming "text".
    r = client.post(f"/api/v1/patients/{pid}/sessions", json={"lot": "L1"}, headers=w["nurse"])
    sid = r.json()["session"]["id"]
    assert 'id="session-note-form"' in client.get(f"/sessions/{sid}").text
    r = client.post(f"/sessions/{sid}/notes", data={"csrf_token": token, "text": " "})
    assert r.status_code == 422 and "<strong>text</strong>" in r.text
    r = client.post(f"/sessions/{sid}/notes", data={"csrf_token": token, "text": "Calm.",
                                                     "action": "draft"})  # fmt: skip
    assert r.status_code == 303 and r.headers["location"].endswith("#nursing-notes")
    assert "session-note-list" in client.get(f"/sessions/{sid}").text
    # The notes panel of the patient chart (issue 21.1).
    chart = notes_for_chart(db, pid, 5)
    db.commit()
    html = client.get(f"/patients/{pid}").text
    panel = html[html.index('id="panel-notes"') :]
    assert [n.id for n in chart] == [nid] and f"/patients/{pid}/notes/{nid}" in panel
    assert "Clinical notes are not available yet" not in html


def test_cli_lists_and_adds_templates(db: Session, settings: Settings, tmp_path: Path) -> None:
    setup(db)
    env = cli_env(settings.database_url, tmp_path)
    out = run(env, "notes", "templates")
    assert out.returncode == 0 and "psychiatric-evaluation v1" in out.stdout, out.stderr
    good = tmp_path / "t.json"
    good.write_text(json.dumps({
        "format": "ketacare-note-templates/1",
        "templates": [{"key": "ect-review", "kind": "progress", "title": "ECT review",
                       "sections": [{"id": "course", "title": "Course"},
                                    {"id": "scores", "title": "Scores", "prefill": "scores"}]}],
    }))  # fmt: skip
    out = run(env, "notes", "template-add", str(good))
    assert out.returncode == 0 and "ect-review v1 added" in out.stdout, out.stderr
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"key": "x", "kind": "progress", "title": "X", "sections": [
        {"id": "a", "title": "A", "prefill": "weather"}]}))  # fmt: skip
    out = run(env, "notes", "template-add", str(bad))
    assert out.returncode == 2 and "sections[1].prefill" in out.stderr
    assert run(env, "notes", "templates", "--clinic", "nope").returncode == 2
    keys = sorted(db.execute(select(NoteTemplateVersion.key)).scalars())
    db.commit()
    assert keys == ["ect-review"]
    assert "ect-review v1" in run(env, "notes", "templates").stdout
