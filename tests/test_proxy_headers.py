"""15.15: forwarded headers are trusted only from configured proxies (``ketacare serve``)."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx2 as httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import Role
from tests.browser import free_port
from tests.conftest import PASSWORD, make_clinic, make_user
from tests.test_cli import KETACARE
from tests.test_processes import base_env, login

SPOOFED = "203.0.113.9"


def serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """``ketacare serve``; waits up to a minute (the shared test machine can be slow)."""
    with log.open("ab") as out:
        cmd = [KETACARE, "serve", "--port", str(port)]
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    proc.wait(timeout=10)
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


def _audited_clients(db: Session) -> set[str]:
    db.expire_all()
    clients = set(
        db.execute(select(AuditEvent.client).where(AuditEvent.action == "list")).scalars()
    )
    db.commit()
    return clients


def _list_patients(env: dict[str, str], tmp_path: Path, email: str) -> None:
    port = free_port()
    proc = serve(env, port, tmp_path / f"server{port}.log")
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(follow_redirects=False, headers={"X-Forwarded-For": SPOOFED}) as c:
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
