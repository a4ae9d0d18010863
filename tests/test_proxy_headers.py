"""15.15: forwarded headers are trusted only from configured proxies (``ketacare serve``)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from tests import real_http
from tests.browser import free_port
from tests.conftest import PASSWORD, make_clinic, make_user
from tests.test_processes import base_env, login

SPOOFED = "203.0.113.9"


def _audited_clients(db: Session) -> set[str]:
    db.expire_all()
    clients = set(
        db.execute(select(AuditEvent.client).where(AuditEvent.action == "list")).scalars()
    )
    db.commit()
    return clients


def _list_patients(env: dict[str, str], tmp_path: Path, email: str) -> None:
    port = free_port()
    proc = real_http.serve(env, port, tmp_path / f"server{port}.log")
    try:
        base = f"http://127.0.0.1:{port}"
        with real_http.client(follow_redirects=False, headers={"X-Forwarded-For": SPOOFED}) as c:
            login(c, base, email, PASSWORD)
            assert c.get(f"{base}/patients").status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_forwarded_for_is_ignored_unless_the_peer_is_a_configured_proxy(
    database_url: str, db: Session, tmp_path: Path
) -> None:
    email = make_user(db, make_clinic(db, "demo"), Role.clinician).email
    db.commit()  # SQLite: end the read that loaded the email (BEGIN takes the write lock)
    env = base_env(database_url, tmp_path)
    # Default: no trusted proxy. A loopback client cannot choose its audited address.
    _list_patients(env, tmp_path, email)
    assert _audited_clients(db) == {"127.0.0.1"}
    # Behind a configured proxy, the forwarded address is the client's.
    _list_patients(env | {"KETACARE_TRUSTED_PROXIES": "127.0.0.1"}, tmp_path, email)
    assert _audited_clients(db) == {"127.0.0.1", SPOOFED}
