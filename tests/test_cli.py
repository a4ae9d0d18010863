"""The ``ketacare`` command line on both databases, run in process (tests/cli_runner.py)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from tests.cli_runner import run_cli


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return run_cli(env, *args, stdin=stdin)


def cli_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETACARE_")}
    env.update(
        KETACARE_DATABASE_URL=database_url,
        KETACARE_DATA_DIR=str(tmp_path),
        KETACARE_SECRET_KEY="test-secret-key-not-for-production",
        KETACARE_AUDIT_KEY="test-audit-key-not-for-production",
        KETACARE_PUBLIC_CLINIC="public",
    )
    return env


def test_config_show_masks_secrets(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETACARE_")}
    env["KETACARE_DATA_DIR"] = str(tmp_path)
    env["KETACARE_DATABASE_URL"] = "postgresql://kc:hunter2secret@db.internal/kc"
    r = run(env, "config", "show", "--json")
    assert r.returncode == 0, r.stderr
    shown = json.loads(r.stdout)
    assert shown["secret_key"] == "**********"
    assert shown["database_url"] == "postgresql://kc:***@db.internal/kc"
    assert "hunter2secret" not in r.stdout
    # The secret was generated on first run and stored (mode 600) under the data dir.
    key_file = tmp_path / "secret_key"
    assert key_file.exists() and oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert key_file.read_text() not in r.stdout


def test_bad_setting_exits_2_naming_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETACARE_")}
    env.update(KETACARE_DATA_DIR=str(tmp_path), KETACARE_PORT="eighty")
    r = run(env, "config", "show")
    assert r.returncode == 2 and "KETACARE_PORT" in r.stderr and "Traceback" not in r.stderr


def test_user_and_token_lifecycle(
    database_url: str, engine: Engine, tmp_path: Path, client: TestClient
) -> None:
    env = cli_env(database_url, tmp_path)
    r = run(env, "db", "current")
    assert r.returncode == 0 and "head" in r.stdout
    r = run(
        env,
        "user",
        "create",
        "--email",
        "Nurse@Example.org",
        "--role",
        "nurse",
        "--clinic",
        "public",
        "--password-stdin",
        stdin="a-long-enough-password\n",
    )
    assert r.returncode == 0, r.stderr
    assert "created nurse nurse@example.org" in r.stdout
    again = run(
        env,
        "user",
        "create",
        "--email",
        "nurse@example.org",
        "--role",
        "nurse",
        "--clinic",
        "public",
        "--password-stdin",
        stdin="a-long-enough-password\n",
    )
    assert again.returncode == 2 and "--email: is already registered" in again.stderr
    weak = run(
        env,
        "user",
        "create",
        "--email",
        "x@example.org",
        "--role",
        "admin",
        "--clinic",
        "public",
        "--password-stdin",
        stdin="short\n",
    )
    assert weak.returncode == 2 and "--password" in weak.stderr
    bad_role = run(
        env,
        "user",
        "create",
        "--email",
        "y@example.org",
        "--role",
        "boss",
        "--clinic",
        "public",
        "--password-stdin",
        stdin="a-long-enough-password\n",
    )
    assert bad_role.returncode == 2 and "role" in bad_role.stderr.lower()

    r = run(env, "token", "create", "--email", "nurse@example.org", "--name", "reporting")
    assert r.returncode == 0, r.stderr
    token = r.stdout.strip()
    assert token.startswith("kc_pat_")
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/leads", headers=headers).status_code == 200
    listed = run(env, "token", "list", "--email", "nurse@example.org")
    assert "active\treporting" in listed.stdout and token not in listed.stdout
    token_id = listed.stdout.split("\t", 1)[0]
    assert (
        run(env, "token", "revoke", "--email", "nurse@example.org", "--id", token_id).returncode
        == 0
    )
    assert client.get("/api/v1/leads", headers=headers).status_code == 401
    missing = run(env, "token", "create", "--email", "nobody@example.org", "--name", "x")
    assert missing.returncode == 2 and "--email: no such user" in missing.stderr


def test_demo_seed_is_idempotent(database_url: str, engine: Engine, tmp_path: Path) -> None:
    env = cli_env(database_url, tmp_path)
    first = run(env, "demo", "seed")
    second = run(env, "demo", "seed")
    assert first.returncode == second.returncode == 0, first.stderr + second.stderr
    assert "clinician@demo.ketacare.example" in second.stdout
