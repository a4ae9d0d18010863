"""Clinical notes (issue 21.7) on SQLite and PostgreSQL: template pre-fill, the draft -> signed
-> addendum flow, signed notes refused by the service and by raw SQL, concurrent signatures
(one wins), bad input -> 4xx naming the field with nothing stored, audit with the patient."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from ketacare.db.engine import session_factory
from ketacare.domain.notes.compose import content_hash
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from ketacare.features.notes import queries
from ketacare.features.notes.models import ClinicalNote
from ketacare.features.patients.models import Patient
from tests import real_http
from tests.browser import live_server
from tests.conftest import api_token, count, make_user
from tests.sessions.support import T0, install_clock, setup

PHQ9 = {"instrument": "phq9", "answers": [2, 2, 1, 2, 1, 1, 2, 1, 0]}  # 12: moderate


def world(db: Session) -> dict[str, Any]:
    w = setup(db)
    admin = make_user(db, w["clinic"], Role.admin)
    w["admin"] = {"Authorization": f"Bearer {api_token(db, admin)}"}
    other = make_user(db, w["clinic"], Role.clinician)
    w["other"] = {"Authorization": f"Bearer {api_token(db, other)}"}
    db.commit()
    return w


def notes_url(w: dict[str, Any], *rest: object) -> str:
    return "/".join([f"/api/v1/patients/{w['patient_id']}/notes", *map(str, rest)])


def draft(client: TestClient, w: dict[str, Any], template: str = "progress-note") -> Any:
    r = client.post(notes_url(w), json={"template": template}, headers=w["clinician"])
    assert r.status_code == 201, r.text
    return r.json()


def fields(r: Any) -> list[str]:
    return [str(d.get("field")) for d in r.json()["detail"]]


def section(note: dict[str, Any], sid: str) -> str:
    return str(next(s["text"] for s in note["sections"] if s["id"] == sid))


def test_draft_is_prefilled_with_latest_scores_and_intake_verdict(
    client: TestClient, app: FastAPI, db: Session
) -> None:
    w = world(db)
    install_clock(app, T0)
    older = {**PHQ9, "answers": [3] * 9, "completed_at": "2025-02-01T10:00:00+00:00"}
    for body in (older, {**PHQ9, "completed_at": "2025-03-01T10:00:00+00:00"}):
        r = client.post(f"/api/v1/patients/{w['patient_id']}/assessments", json=body,
                        headers=w["clinician"])  # fmt: skip
        assert r.status_code == 201, r.text
    note = draft(client, w, "psychiatric-evaluation")
    assert note["status"] == "draft" and note["kind"] == "psychiatric_evaluation"
    assert section(note, "measures") == "PHQ-9: 12 (Moderate) on 2025-03-01"
    intake = section(note, "intake")
    assert intake.startswith("Intake of ") and "IV ketamine: " in intake
    assert "TRD: " in intake and "Thase-Rush stage" in intake and "Maudsley" in intake
    assert section(note, "formulation") == ""


def test_sign_then_addendum_flow_and_hash(client: TestClient, app: FastAPI, db: Session) -> None:
    w = world(db)
    clock = install_clock(app, T0)
    note = draft(client, w)
    body = {"sections": {"interval": "Sleeping better.", "plan": "Continue."}, "version": 1}
    r = client.put(notes_url(w, note["id"]), json=body, headers=w["clinician"])
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2 and section(r.json(), "interval") == "Sleeping better."
    clock.set(minutes=5)
    r = client.post(notes_url(w, note["id"], "sign"), json={"version": 2}, headers=w["clinician"])
    assert r.status_code == 200, r.text
    signed = r.json()
    assert signed["status"] == "signed" and signed["signed_at"].startswith("2025-03-03T09:05")
    row = db.get(ClinicalNote, note["id"])
    assert row is not None and row.content_hash == content_hash(row.document)
    assert signed["content_hash"] == row.content_hash and "Sleeping better." in row.document
    db.commit()
    # Signed: the service refuses edits and a second signature.
    r = client.put(notes_url(w, note["id"]), json={**body, "version": 3}, headers=w["clinician"])
    assert r.status_code == 409 and fields(r) == ["status"]
    r = client.post(notes_url(w, note["id"], "sign"), json={}, headers=w["clinician"])
    assert r.status_code == 409
    # Addendum: a new draft linked to the signed note, then signed on its own.
    r = client.post(notes_url(w, note["id"], "addenda"), json={"text": "Also: BP fine."},
                    headers=w["clinician"])  # fmt: skip
    assert r.status_code == 201, r.text
    add = r.json()
    assert add["addendum_of"] == note["id"] and add["status"] == "draft"
    r = client.post(notes_url(w, add["id"], "sign"), json={}, headers=w["clinician"])
    assert r.status_code == 200 and r.json()["status"] == "signed"
    r = client.get(notes_url(w, note["id"]), headers=w["clinician"])
    assert r.json()["addenda"] == [add["id"]] and r.json()["sections"] == signed["sections"]
    # An addendum of a draft is refused; only the author edits a draft.
    d2 = draft(client, w)
    r = client.post(notes_url(w, d2["id"], "addenda"), json={}, headers=w["clinician"])
    assert r.status_code == 409
    r = client.put(notes_url(w, d2["id"]), json={"sections": {}, "version": 1},
                   headers=w["other"])  # fmt: skip
    assert r.status_code == 403
    chart = queries.notes_for_chart(db, w["patient_id"], 5)
    assert [n.id for n in chart] == [add["id"], note["id"]]
    db.commit()


def test_signed_note_refused_by_raw_sql(client: TestClient, app: FastAPI, engine: Engine,
                                        db: Session) -> None:  # fmt: skip
    w = world(db)
    install_clock(app, T0)
    note = draft(client, w)
    client.put(notes_url(w, note["id"]), json={"sections": {"plan": "x"}, "version": 1},
               headers=w["clinician"])  # fmt: skip
    # A draft may still change in the database (the author's edits).
    with engine.begin() as conn:
        conn.execute(text("UPDATE clinical_note SET title = 'T' WHERE id = :i"), {"i": note["id"]})
    r = client.post(notes_url(w, note["id"], "sign"), json={}, headers=w["clinician"])
    assert r.status_code == 200, r.text
    for sql in (
        "UPDATE clinical_note SET sections = '[]' WHERE id = :i",
        "UPDATE clinical_note SET status = 'draft' WHERE id = :i",
        "DELETE FROM clinical_note WHERE id = :i",
    ):
        with (
            pytest.raises(DBAPIError, match="signed note is never changed"),
            engine.begin() as conn,
        ):
            conn.execute(text(sql), {"i": note["id"]})
    row = db.get(ClinicalNote, note["id"])
    assert (
        row is not None
        and row.status == "signed"
        and row.content_hash == content_hash(row.document)
    )
    db.commit()


def test_concurrent_signatures_one_wins(client: TestClient, app: FastAPI, db: Session) -> None:
    w = world(db)
    note = draft(client, w)
    client.put(notes_url(w, note["id"]), json={"sections": {"plan": "x"}, "version": 1},
               headers=w["clinician"])  # fmt: skip
    n = 6
    barrier = threading.Barrier(n)
    codes: list[int] = [0] * n
    url = notes_url(w, note["id"], "sign")

    with live_server(app) as base:

        def run(i: int) -> None:
            with real_http.client(base_url=base, timeout=30) as c:
                barrier.wait()
                codes[i] = c.post(url, json={"version": 2}, headers=w["clinician"]).status_code

        threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert codes.count(200) == 1 and codes.count(409) == n - 1, codes
    signs = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "sign")
    assert db.execute(signs).scalar_one() == 1
    db.commit()


@pytest.mark.parametrize(
    ("path", "body", "field", "status"),
    [
        ("", {"template": "no-such"}, "template", 422),
        ("", {"template": "progress-note", "sections": {"nope": "x"}}, "sections.nope", 422),
        ("", {"template": "progress-note", "sections": {"plan": "a\x00b"}}, "sections.plan", 422),
        ("", {"template": "progress-note", "session_id": 999999}, "session_id", 404),
        ("", {"template": "progress-note", "extra": 1}, "extra", 422),
        ("", {"template": ""}, "template", 422),
        ("", {"template": "progress-note", "sections": {"plan": "x" * 20_001}},
         "sections.plan", 422),
    ],
)  # fmt: skip
def test_bad_input_names_the_field_and_stores_nothing(
    client: TestClient, db: Session, path: str, body: dict[str, Any], field: str, status: int
) -> None:
    w = world(db)
    r = client.post(notes_url(w) + path, json=body, headers=w["clinician"])
    assert r.status_code == status, r.text
    assert field in fields(r), r.text
    assert count(db, ClinicalNote) == 0


def test_roles_and_other_clinic(client: TestClient, db: Session) -> None:
    w = world(db)
    url = notes_url(w)
    r = client.post(url, json={"template": "progress-note"}, headers=w["nurse"])
    assert r.status_code == 403  # a nurse writes nursing notes only
    r = client.post(url, json={"template": "nursing-note"}, headers=w["nurse"])
    assert r.status_code == 201
    r = client.post(url, json={"template": "nursing-note"}, headers=w["admin"])
    assert r.status_code == 403
    assert client.get(url, headers=w["admin"]).status_code == 200  # admins read
    from tests.conftest import make_clinic

    other = make_clinic(db, "other", "Other")
    outsider = make_user(db, other, Role.clinician)
    headers = {"Authorization": f"Bearer {api_token(db, outsider)}"}
    assert client.get(url, headers=headers).status_code == 404
    assert count(db, ClinicalNote) == 1


def test_clinic_template_via_api_and_bad_template(client: TestClient, db: Session) -> None:
    w = world(db)
    tpl = {
        "key": "progress-note",
        "kind": "progress",
        "title": "Brief progress note",
        "sections": [{"id": "soap", "title": "SOAP"}, {"id": "scores", "title": "Scores",
                                                        "prefill": "scores"}],
    }  # fmt: skip
    r = client.post("/api/v1/note-templates", json=tpl, headers=w["clinician"])
    assert r.status_code == 201, r.text
    assert r.json()["version"] == 2  # after the shipped v1
    listed = client.get("/api/v1/note-templates", headers=w["nurse"]).json()
    assert {t["key"]: t["version"] for t in listed}["progress-note"] == 2
    note = draft(client, w)
    assert [s["id"] for s in note["sections"]] == ["soap", "scores"]
    assert note["template"] == {"key": "progress-note", "version": 2}
    assert section(note, "scores") == "No scores recorded."
    bad = {**tpl, "sections": [{"id": "Bad Id", "title": "x"}]}
    r = client.post("/api/v1/note-templates", json=bad, headers=w["clinician"])
    assert r.status_code == 422 and fields(r) == ["sections[1].id"]
    r = client.post("/api/v1/note-templates", json=tpl, headers=w["nurse"])
    assert r.status_code == 403


def test_reads_and_writes_audited_with_the_patient(client: TestClient, db: Session) -> None:
    w = world(db)
    note = draft(client, w)
    client.get(notes_url(w, note["id"]), headers=w["clinician"])
    client.get(notes_url(w), headers=w["clinician"])
    rows = db.execute(
        select(AuditEvent.action, AuditEvent.patient_id, AuditEvent.patients).where(
            AuditEvent.resource == "clinical_note"
        )
    ).all()
    db.commit()
    actions = {a for a, _, _ in rows}
    assert {"create", "read", "list"} <= actions
    assert all(pid == w["patient_id"] for _, pid, _ in rows)
    assert any(f",{w['patient_id']}," in (p or "") for a, _, p in rows if a == "list")


def test_session_page_hook_and_fhir_export(client: TestClient, app: FastAPI, engine: Engine,
                                           db: Session) -> None:  # fmt: skip
    from ketacare.features.interop.exporter import export_bundle

    w = world(db)
    install_clock(app, T0)
    r = client.post(f"/api/v1/patients/{w['patient_id']}/sessions", json={"lot": "L1"},
                    headers=w["nurse"])  # fmt: skip
    assert r.status_code == 201, r.text
    sid = r.json()["session"]["id"]
    body = {"template": "nursing-note", "session_id": sid, "sections": {"note": "Calm, BP ok."}}
    r = client.post(notes_url(w), json=body, headers=w["nurse"])
    nid = r.json()["id"]
    client.post(notes_url(w, nid, "sign"), json={}, headers=w["nurse"])
    r = client.post(notes_url(w, nid, "addenda"), json={"text": "Left at 11:10."},
                    headers=w["nurse"])  # fmt: skip
    aid = r.json()["id"]
    client.post(notes_url(w, aid, "sign"), json={}, headers=w["nurse"])
    assert [n.id for n in queries.session_notes(db, sid)] == [nid, aid]
    patient = db.get(Patient, w["patient_id"])
    assert patient is not None
    bundle, _ = export_bundle(db, patient.clinic_id, "https://x.example/fhir", patient.id, T0)
    db.commit()
    docs = [
        e["resource"] for e in bundle["entry"]
        if e["resource"]["id"].startswith("note-")
    ]  # fmt: skip
    assert [d["id"] for d in docs] == [f"note-{nid}", f"note-{aid}"]
    assert docs[0]["docStatus"] == "final" and docs[0]["type"]["coding"][0]["code"] == "34746-8"
    assert docs[1]["relatesTo"] == [
        {"code": "appends", "target": {"reference": f"DocumentReference/note-{nid}"}}
    ]
    with session_factory(engine)() as s2:
        assert s2.execute(select(func.count()).select_from(ClinicalNote)).scalar_one() == 2
