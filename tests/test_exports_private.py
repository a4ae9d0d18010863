"""Issues 15.5, 15.7 and 15.14 for files that leave the database.

- An export's file exists only once its audit event is committed (a failing audit append
  leaves no file).
- CLI exports name the operating-system user, the clinic and every patient disclosed.
- Exports, backups and the SQLite file are owner-only (0600; new directories 0700).
- Research CSV cells that a spreadsheet would run as formulas are neutralised.
- pg_dump/pg_restore never get the password on their command line.
"""

from __future__ import annotations

import csv
import getpass
import io
import stat
import subprocess
from pathlib import Path

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from ketacare.db.engine import make_engine
from ketacare.features.audit.models import AuditEvent
from ketacare.features.interop.research import write_csv
from ketacare.features.patients.service import PatientInput, create_patient
from ketacare.features.system import backup
from tests.cli_runner import run_cli
from tests.conftest import make_clinic
from tests.test_cli import cli_env


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``ketacare ARGS``, in process (tests/cli_runner.py)."""
    return run_cli(env, *args)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _clinic_with_patients(db: Session, n: int = 3) -> tuple[int, list[int]]:
    clinic = make_clinic(db)
    ids = [create_patient(db, clinic.id, PatientInput(f"P{i}", "Q")).id for i in range(n)]
    db.commit()
    return clinic.id, ids


def _fail_audit_inserts(engine: Engine) -> None:
    with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE TRIGGER no_audit BEFORE INSERT ON audit_event "
                    "BEGIN SELECT RAISE(ABORT, 'audit store refused'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE FUNCTION no_audit() RETURNS trigger LANGUAGE plpgsql AS "
                    "$$ BEGIN RAISE EXCEPTION 'audit store refused'; END $$"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER no_audit BEFORE INSERT ON audit_event "
                    "FOR EACH ROW EXECUTE FUNCTION no_audit()"
                )
            )


def _allow_audit_inserts(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            text(
                "DROP TRIGGER no_audit"
                + ("" if engine.dialect.name == "sqlite" else " ON audit_event")
            )
        )
        if engine.dialect.name != "sqlite":
            conn.execute(text("DROP FUNCTION no_audit()"))


def test_cli_exports_are_private_audited_with_os_user_and_patients(
    database_url: str, db: Session, tmp_path: Path
) -> None:
    cid, ids = _clinic_with_patients(db)
    env = cli_env(database_url, tmp_path)
    out = tmp_path / "new-dir" / "clinic.json"
    r = _run(env, "fhir", "export", "--clinic", str(cid), "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert _mode(out) == 0o600 and _mode(out.parent) == 0o700
    csv_out = tmp_path / "research.csv"
    r = _run(env, "research-export", "--clinic", str(cid), "--out", str(csv_out))
    assert r.returncode == 0, r.stderr
    assert _mode(csv_out) == 0o600
    audit_out = tmp_path / "audit.csv"
    r = _run(env, "audit", "export", "--from", "2000-01-01", "--to", "2199-01-01",
             "--out", str(audit_out))  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert _mode(audit_out) == 0o600
    events = (
        db.execute(select(AuditEvent).where(AuditEvent.channel == "cli").order_by(AuditEvent.seq))
        .scalars()
        .all()
    )
    db.commit()
    want = "," + ",".join(map(str, sorted(ids))) + ","
    assert [(e.resource, e.actor_email) for e in events] == [
        ("fhir.Bundle", f"os:{getpass.getuser()}"),
        ("research.assessments", f"os:{getpass.getuser()}"),
        ("audit_log", f"os:{getpass.getuser()}"),
    ]
    assert all(e.clinic_id == cid for e in events[:2])
    assert events[0].patients == want and events[1].patients == ""  # no assessments yet
    assert events[2].patients == want  # the exported log names who was accessed


def test_no_file_when_the_audit_event_cannot_be_stored(
    database_url: str, engine: Engine, db: Session, tmp_path: Path
) -> None:
    cid, _ids = _clinic_with_patients(db)
    env = cli_env(database_url, tmp_path)
    out = tmp_path / "clinic.json"
    _fail_audit_inserts(engine)
    try:
        r = _run(env, "fhir", "export", "--clinic", str(cid), "--out", str(out))
        report = _run(
            env, "research-export", "--clinic", str(cid), "--out", str(tmp_path / "r.csv")
        )
    finally:
        _allow_audit_inserts(engine)
    assert r.returncode != 0 and report.returncode != 0
    assert list(tmp_path.glob("*.json")) == [] and list(tmp_path.glob("*.csv")) == []
    assert [p.name for p in tmp_path.iterdir() if "partial" in p.name] == []


def test_research_csv_neutralises_formulas(db: Session) -> None:
    clinic = make_clinic(db)
    from ketacare.features.assessments.models import Assessment, Source

    p = create_patient(db, clinic.id, PatientInput('=HYPERLINK("http://x.example","a")', "-2+3"))
    db.add(
        Assessment(
            clinic_id=clinic.id, patient_id=p.id, instrument_id="phq9", instrument_version="1",
            answers={}, total=4, source=Source.clinician, flags=[],
        )
    )  # fmt: skip
    db.commit()
    buf = io.StringIO()
    write_csv(db, clinic.id, "assessments", buf, None)
    row = next(csv.DictReader(io.StringIO(buf.getvalue())))
    assert row["given_name"] == '\'=HYPERLINK("http://x.example","a")'
    assert row["family_name"] == "'-2+3" and row["total"] == "4"


def test_sqlite_file_and_backup_are_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "data" / "k.db"
    engine = make_engine(f"sqlite:///{path}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (x int)"))
    assert _mode(path) == 0o600 and _mode(path.parent) == 0o700
    out = tmp_path / "backups" / "b.sqlite"
    backup.backup(engine, out)
    engine.dispose()
    assert _mode(out) == 0o600 and _mode(out.parent) == 0o700


def test_pg_password_is_not_on_the_command_line() -> None:
    engine = make_engine("postgresql://kc:hunter2secret@db.invalid:5432/kc")
    assert "hunter2secret" not in backup._libpq_url(engine)
    assert backup._libpq_env(engine)["PGPASSWORD"] == "hunter2secret"
    engine.dispose()
