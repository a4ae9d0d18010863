"""Research CSV: identified and de-identified exports (no direct identifiers, shifted dates)."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.actor import Actor
from ketacare.features.interop.importer import import_bundle
from ketacare.features.interop.research import Deidentifier, write_csv
from tests.conftest import make_clinic
from tests.fhir.fhir_support import cli_env, load_json, run, synthea_files


def table(db: Session, cid: int, deid: Deidentifier | None) -> list[dict[str, str]]:
    buf = io.StringIO()
    write_csv(db, cid, "assessments", buf, deid)
    return list(csv.DictReader(io.StringIO(buf.getvalue())))


def test_deidentified_csv_drops_identifiers_and_shifts_dates_per_patient(db: Session) -> None:
    cid = make_clinic(db).id
    for path in synthea_files()[:4]:
        import_bundle(db, cid, load_json(path), path.name, Actor(None, "cli"))
    db.flush()
    plain = table(db, cid, None)
    deid = Deidentifier(b"installation-secret")
    anon = table(db, cid, deid)
    db.commit()
    assert len(plain) == len(anon) == 17
    assert set(anon[0]) == {
        "patient",
        "sex",
        "age",
        "instrument",
        "version",
        "total",
        "band",
        "flags",
        "source",
        "imported_total",
        "completed_at",
    }
    text = "".join(str(r) for r in anon)
    for r in plain:
        assert r["family_name"] not in text and r["given_name"] not in text
    shifts: dict[str, set[timedelta]] = {}
    for p, a in zip(plain, anon, strict=True):
        delta = datetime.fromisoformat(a["completed_at"]) - datetime.fromisoformat(
            p["completed_at"]
        )
        shifts.setdefault(a["patient"], set()).add(delta)
        assert (p["total"], p["instrument"]) == (a["total"], a["instrument"])
    assert len(shifts) == 4
    assert all(len(s) == 1 for s in shifts.values()), "one offset per patient"
    offsets = [next(iter(s)) for s in shifts.values()]
    assert all(timedelta(days=1) <= abs(o) <= timedelta(days=182) for o in offsets)
    assert len(set(offsets)) > 1
    assert table(db, cid, deid) == anon  # stable for one secret
    db.commit()
    assert table(db, cid, Deidentifier(b"another-secret")) != anon
    db.commit()


def test_cli_research_export_audited(db: Session, database_url: str, tmp_path: Path) -> None:
    cid = make_clinic(db).id
    db.commit()
    out = tmp_path / "sessions.csv"
    env = cli_env(database_url, tmp_path)
    r = run(
        env,
        "research-export",
        "--clinic",
        str(cid),
        "--kind",
        "sessions",
        "--deidentify",
        "--out",
        str(out),
    )
    assert r.returncode == 0, r.stderr
    assert out.read_text(encoding="utf-8").startswith("patient,sex,age,session,route,")
    db.expire_all()
    actions = db.execute(select(AuditEvent.action, AuditEvent.resource)).all()
    db.commit()
    assert ("export-deidentified", "research.sessions") in actions
