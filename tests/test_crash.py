"""Nothing acknowledged is lost: SIGKILL the server under load, restart, check the database.

Every screening the server acknowledged (201/200) must be stored exactly once; anything not
acknowledged is either stored whole or not at all; retrying the unacknowledged ones with the
same idempotency key after the restart stores each exactly once. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session

from ketacare.domain.mbc.screening import score_gad7, score_phq9
from ketacare.features.screening.models import Screening
from ketacare.features.screening.submit import scoped_key
from tests.browser import free_port


def start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "ketacare.web.app:app_from_env",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    proc.kill()
    raise RuntimeError("server did not start")


SECRET = "crash-test-secret"


def answers(n: int) -> dict[str, list[int]]:
    return {"phq9": [(n + i) % 4 for i in range(9)], "gad7": [(n * 3 + i) % 4 for i in range(7)]}


def post(port: int, key: str, n: int) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(
        "POST",
        "/api/v1/screenings",
        json.dumps(answers(n)),
        {"content-type": "application/json", "idempotency-key": key},
    )
    status = conn.getresponse().status
    conn.close()
    return status


def test_sigkill_under_load_loses_nothing_acknowledged(
    database_url: str, engine: Engine, db: Session, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETACARE_")}
    env.update(
        KETACARE_DATABASE_URL=database_url,
        KETACARE_DATA_DIR=str(tmp_path),
        KETACARE_SECRET_KEY=SECRET,
        KETACARE_PUBLIC_RATE_LIMIT="0",
    )
    port = free_port()
    server = start(env, port)
    acked: dict[str, int] = {}
    sent: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(worker: int) -> None:
        i = 0
        while not stop.is_set():
            key, n = f"w{worker}-{i}", worker * 100_000 + i
            with lock:
                sent[key] = n
            try:
                status = post(port, key, n)
            except OSError:
                return
            if status in (200, 201):
                with lock:
                    acked[key] = n
            i += 1

    threads = [threading.Thread(target=client, args=(w,)) for w in range(8)]
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.send_signal(signal.SIGKILL)
    server.wait()
    stop.set()
    for t in threads:
        t.join(timeout=15)
    assert len(acked) > 20, "the load did not get going"

    # Stored keys are scoped to the client (an HMAC of address and key).
    stored = {scoped_key(SECRET, "127.0.0.1", k): k for k in sent}
    rows = {stored[r.idempotency_key]: r for r in db.execute(select(Screening)).scalars()}
    db.commit()
    missing = [k for k in acked if k not in rows]
    assert missing == [], f"{len(missing)} acknowledged screenings lost"
    for key, row in rows.items():  # stored whole, with scores matching the answers
        assert key is not None
        expected = answers(sent[key])
        assert row.phq9_answers == expected["phq9"]
        assert row.phq9_total == score_phq9(expected["phq9"]).total
        assert row.gad7_total == score_gad7(expected["gad7"]).total

    server = start(env, port)
    try:
        for key in sent.keys() - acked.keys():
            assert post(port, key, sent[key]) in (200, 201)
        for key in list(acked)[:10]:
            assert post(port, key, acked[key]) == 200
    finally:
        server.terminate()
        server.wait(timeout=10)
    total = db.execute(select(func.count()).select_from(Screening)).scalar_one()
    keys = db.execute(select(func.count(func.distinct(Screening.idempotency_key)))).scalar_one()
    db.commit()
    assert total == keys == len(sent)
