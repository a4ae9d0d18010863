"""Issue 15.6: the chain is keyed (HMAC under a key outside the database) and anchored.

Each case is a database writer's tamper: what ``audit verify`` alone detects, and what it
detects only with ``--anchors`` (tail truncation with the head moved back, emptied tables,
the switch point moved). Issue 15.5: a transaction with more events than PostgreSQL's
65,535 parameters per statement allow is chained in chunks.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from ketacare.db import migrate
from ketacare.features.audit.chain import FIELDS, LEGACY_FIELDS, legacy_hash
from ketacare.features.audit.models import GENESIS_HASH, AuditEvent
from ketacare.features.audit.service import iter_events, record, verify_chain
from ketacare.features.auth.models import Role
from tests.cli_runner import run_cli
from tests.conftest import make_clinic, make_user
from tests.test_cli import cli_env


def _events(db: Session, n: int) -> None:
    user = make_user(db, make_clinic(db), Role.clinician)
    for i in range(n):
        record(db, user, "read", "patient", i, patient_id=i)
        db.commit()


def _cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``ketacare audit ARGS``, in process (tests/cli_runner.py)."""
    return run_cli(env, "audit", *args)


def _rewrite(engine: Engine, db: Session, start: int, hasher: str) -> None:
    """Recompute every hash from event ``start`` on, as a database writer would."""
    events = list(iter_events(db))
    db.commit()
    prev = GENESIS_HASH if start == 1 else str(events[start - 2]["hash"])
    with engine.begin() as conn:
        for ev in events[start - 1 :]:
            ev["prev_hash"] = prev
            if hasher == "sha256":
                digest = legacy_hash(ev, prev)
            else:  # HMAC under a key the writer guessed
                payload = {
                    k: (v.isoformat() if hasattr(v, "isoformat") else v)
                    for k, v in ev.items()
                    if k in FIELDS
                }
                payload["prev_hash"] = prev
                body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
                digest = hmac.new(b"guessed", body, hashlib.sha256).hexdigest()
            conn.execute(
                text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": digest, "s": ev["seq"]},
            )
            prev = digest
        conn.execute(text("UPDATE audit_head SET hash = :h WHERE id = 1"), {"h": prev})


def test_rewriting_the_chain_from_an_edited_event_is_detected(engine: Engine, db: Session) -> None:
    _events(db, 5)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor_email = 'x@y' WHERE seq = 3"))
    for hasher in ("sha256", "hmac"):
        _rewrite(engine, db, 3, hasher)
        report = verify_chain(db)
        db.commit()
        assert not report.ok and report.first_broken_seq == 3, (hasher, report)


def test_anchors_detect_truncation_emptying_and_a_moved_switch_point(
    database_url: str, engine: Engine, db: Session, tmp_path: Path
) -> None:
    env = cli_env(database_url, tmp_path)
    anchors = tmp_path / "anchors.jsonl"
    _events(db, 4)
    first = _cli(env, "anchor", "--out", str(anchors))
    assert first.returncode == 0, first.stderr
    _events(db, 3)
    assert _cli(env, "anchor", "--out", str(anchors)).returncode == 0
    assert (anchors.stat().st_mode & 0o777) == 0o600
    ok = _cli(env, "verify", "--anchors", str(anchors))
    assert ok.returncode == 0 and "extends all 2 anchors" in ok.stdout, ok.stdout + ok.stderr
    # Tail truncation with the head moved back: the chain alone is consistent ...
    row = db.execute(select(AuditEvent.hash).where(AuditEvent.seq == 5)).scalar_one()
    db.commit()
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event WHERE seq > 5"))
        conn.execute(text("UPDATE audit_head SET seq = 5, hash = :h WHERE id = 1"), {"h": row})
    assert _cli(env, "verify").returncode == 0  # documented: not detectable without anchors
    cut = _cli(env, "verify", "--anchors", str(anchors))
    assert cut.returncode == 1 and "event 7" in cut.stderr and "removed" in cut.stderr
    # Both tables emptied.
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_event"))
        conn.execute(text("DELETE FROM audit_head"))
    assert _cli(env, "verify").returncode == 0
    assert _cli(env, "verify", "--anchors", str(anchors)).returncode == 1
    # The whole log rewritten as "written before keying" (switch point moved past its end).
    _events(db, 7)
    _rewrite(engine, db, 1, "sha256")
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_head SET keyed_from = 8"))
    assert _cli(env, "verify").returncode == 0
    moved = _cli(env, "verify", "--anchors", str(anchors))
    assert moved.returncode == 1 and "switch" in moved.stderr
    # An anchor file edited without the key is refused.
    forged = tmp_path / "forged.jsonl"
    line = json.loads(anchors.read_text().splitlines()[0])
    forged.write_text(json.dumps({**line, "seq": 1}) + "\n")
    bad = _cli(env, "verify", "--anchors", str(forged))
    assert bad.returncode == 2 and "not signed" in bad.stderr


def test_a_wrong_audit_key_fails_verification(
    database_url: str, db: Session, tmp_path: Path
) -> None:
    _events(db, 2)
    env = cli_env(database_url, tmp_path) | {"KETACARE_AUDIT_KEY": "another-key"}
    r = _cli(env, "verify")
    assert r.returncode == 1 and "BROKEN at event 1" in r.stderr


def test_one_commit_with_more_events_than_the_parameter_limit(db: Session) -> None:
    user = make_user(db, make_clinic(db), Role.clinician)
    n = 65_535 // len(FIELDS) + 50  # over the limit if sent as one statement
    for i in range(n):
        record(db, user, "export", "fhir.Bundle", "b", patient_id=i + 1)
    db.commit()
    report = verify_chain(db)
    db.commit()
    assert report.ok and report.checked == n


def test_a_chain_from_before_0010_verifies_with_its_switch_point_recorded(
    engine: Engine, db: Session
) -> None:
    db.commit()
    migrate.downgrade(engine, "0009")
    try:
        prev = GENESIS_HASH
        with engine.begin() as conn:  # three events as the old code wrote them (plain SHA-256)
            conn.execute(text("DELETE FROM audit_head"))
            for seq in (1, 2, 3):
                ev: dict[str, object] = dict.fromkeys(LEGACY_FIELDS, None)
                ev |= {"seq": seq, "at": f"2026-01-0{seq}T00:00:00+00:00", "actor_email": "",
                       "action": "read", "resource": "patient", "resource_id": str(seq),
                       "outcome": "ok", "channel": "page", "client": ""}  # fmt: skip
                digest = legacy_hash(ev, prev)
                conn.execute(
                    text(
                        "INSERT INTO audit_event (seq, at, actor_email, action, resource, "
                        "resource_id, outcome, channel, client, prev_hash, hash) VALUES (:seq, "
                        ":at, '', 'read', 'patient', :rid, 'ok', 'page', '', :prev, :hash)"
                    ),
                    {"seq": seq, "at": datetime(2026, 1, seq, tzinfo=UTC), "rid": str(seq),
                     "prev": prev, "hash": digest},
                )  # fmt: skip
                prev = digest
            conn.execute(
                text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 3, :h)"), {"h": prev}
            )
    finally:
        migrate.upgrade(engine)
    _events(db, 2)
    report = verify_chain(db)
    db.commit()
    assert report.ok and report.checked == 5 and report.keyed_from == 4
    # The unkeyed part is pinned by the first keyed event: rewriting it is detected.
    _rewrite_legacy_event(engine, db)
    report = verify_chain(db)
    db.commit()
    assert not report.ok and report.first_broken_seq == 4


def _rewrite_legacy_event(engine: Engine, db: Session) -> None:
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET resource_id = 'x' WHERE seq = 2"))
    events = list(iter_events(db))
    db.commit()
    prev = str(events[0]["hash"])
    with engine.begin() as conn:
        for ev in events[1:3]:
            digest = legacy_hash(ev, prev)
            conn.execute(
                text("UPDATE audit_event SET prev_hash = :p, hash = :h WHERE seq = :s"),
                {"p": prev, "h": digest, "s": ev["seq"]},
            )
            prev = digest
