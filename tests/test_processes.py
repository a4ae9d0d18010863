"""Real server processes: scale-out over one PostgreSQL, and no patient data in the logs."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests import real_http
from tests.browser import free_port
from tests.real_http import KETACARE

SECRET_VALUES = {
    "name": "Zebulon Quixotic",
    "phone": "+1 555 013 9876",
    "email": "zebulon.quixotic@patient.example",
    "family": "Xylographer",
}


def base_env(database_url: str, tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETACARE_")}
    env.update(
        KETACARE_DATABASE_URL=database_url,
        KETACARE_DATA_DIR=str(tmp_path),
        KETACARE_SECRET_KEY="process-test-secret-key",
        KETACARE_PUBLIC_CLINIC="demo",
    )
    return env


def login(client: real_http.Client, base: str, email: str, password: str) -> None:
    client.get(f"{base}/login")
    r = client.post(
        f"{base}/login",
        data={"email": email, "password": password, "csrf_token": client.cookies["kc_csrf"]},
    )
    assert r.status_code == 303, r.text


def test_two_processes_share_one_database(database_url: str, tmp_path: Path) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("scale-out is a PostgreSQL deployment; SQLite is one host by design")
    env = base_env(database_url, tmp_path)
    subprocess.run([KETACARE, "demo", "seed"], env=env, check=True, capture_output=True)
    ports = free_port(), free_port()
    procs = [real_http.serve(env, p, tmp_path / f"server{p}.log") for p in ports]
    try:
        a, b = (f"http://127.0.0.1:{p}" for p in ports)
        with real_http.client(follow_redirects=False) as client:
            login(client, a, "clinician@demo.ketacare.example", "ketacare-demo")
            # The session and CSRF cookies issued by process A work on process B.
            assert client.get(f"{b}/patients").status_code == 200
            r = client.post(
                f"{b}/patients/new",
                data={
                    "given_name": "Ada",
                    "family_name": "Lovelace",
                    "csrf_token": client.cookies["kc_csrf"],
                },
            )
            assert r.status_code == 303
            assert "Lovelace, Ada" in client.get(f"{a}/patients").text
            client.post(f"{a}/logout", data={"csrf_token": client.cookies["kc_csrf"]})
            assert client.get(f"{b}/patients").status_code == 303  # logged out on B too
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=10)


def test_no_patient_data_in_logs(database_url: str, tmp_path: Path) -> None:
    env = base_env(database_url, tmp_path)
    subprocess.run([KETACARE, "demo", "seed"], env=env, check=True, capture_output=True)
    port = free_port()
    log = tmp_path / "server.log"
    proc = real_http.serve(env, port, log)
    base = f"http://127.0.0.1:{port}"
    try:
        with real_http.client(follow_redirects=False) as c:
            c.get(f"{base}/screen")
            csrf = c.cookies["kc_csrf"]
            form = {f"phq9_{i}": "2" for i in range(1, 10)} | {"csrf_token": csrf}
            result = c.post(f"{base}/screen", data=form).headers["location"]
            c.post(
                f"{base}{result}/consult",
                data={
                    "name": SECRET_VALUES["name"],
                    "phone": SECRET_VALUES["phone"],
                    "email": SECRET_VALUES["email"],
                    "consent": "yes",
                    "csrf_token": csrf,
                },
            )
            # A rejected submission carrying the same data, and a malformed API body.
            c.post(
                f"{base}{result}/consult",
                data={"name": SECRET_VALUES["name"], "email": "nope", "csrf_token": csrf},
            )
            c.post(
                f"{base}/api/v1/leads",
                json={"name": SECRET_VALUES["name"], "phone": SECRET_VALUES["phone"]},
            )
            login(c, base, "nurse@demo.ketacare.example", "ketacare-demo")
            c.post(
                f"{base}/patients/new",
                data={
                    "given_name": SECRET_VALUES["name"],
                    "family_name": SECRET_VALUES["family"],
                    "email": SECRET_VALUES["email"],
                    "csrf_token": c.cookies["kc_csrf"],
                },
            )
            c.get(f"{base}/patients", params={"q": SECRET_VALUES["family"]})
            assert SECRET_VALUES["name"] in c.get(f"{base}/leads").text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    text = log.read_text()
    assert "Application startup complete" in text  # the log was really captured
    for value in SECRET_VALUES.values():
        assert value not in text
        assert value.split()[0] not in text
    assert not re.search(r"phq9|answers", text)
