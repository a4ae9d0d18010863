"""Patient chart render speed: five years of weekly PHQ-9, GAD-7 and QIDS-SR16 (783 scores).

Run: ``.venv/bin/python benchmarks/chart.py``. Target: the trajectories page renders server-side
in under 100 ms. Prints the whole request (login session, audited patient read, query, three
SVG charts, template) through the real app on a migrated SQLite file, the SVG step alone, and
the same charts embedded in a PDF (the patient report PDF uses this one chart too; until issue
16.6 it drew a second, matplotlib trajectory chart, about 90x slower).
"""

from __future__ import annotations

import io
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from ketacare.db import migrate
from ketacare.db.engine import get_engine, session_factory
from ketacare.domain.instruments import get_instrument
from ketacare.features.assessments.models import Source
from ketacare.features.assessments.service import store_assessment
from ketacare.features.audit.service import register_key
from ketacare.features.auth import service as accounts
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.charts.trajectory import Point, trajectory_svg
from ketacare.features.clinics.repository import get_or_create
from ketacare.features.patients.models import Patient
from ketacare.settings import Settings
from ketacare.web.app import create_app

WEEKS = 261
AUDIT_KEY = "bench-audit-key-not-secret"
INSTRUMENTS = {"phq9": 9, "gad7": 7, "qids-sr16": 16}


def answers(iid: str, week: int, rng: random.Random) -> list[int | None]:
    level = max(0.0, 2.6 - week / 60) + rng.uniform(-0.6, 0.6)
    n = INSTRUMENTS[iid]
    out: list[int | None] = [max(0, min(3, round(level + rng.uniform(-1, 1)))) for _ in range(n)]
    if iid == "qids-sr16":
        out[6] = out[8] = None  # one of 6/7 and one of 8/9
    return out


def main() -> None:
    rng = random.Random(7)
    tmp = Path(tempfile.mkdtemp())
    url = f"sqlite:///{tmp / 'bench.db'}"
    engine = get_engine(url)
    migrate.upgrade(engine)
    register_key(url, AUDIT_KEY.encode())
    start = datetime(2021, 1, 4, 9, tzinfo=UTC)
    with session_factory(engine)() as db:
        clinic = get_or_create(db, "bench", "Bench Clinic")
        accounts.create_user(db, clinic, "c@bench.example", Role.clinician, "bench-password-123")
        patient = Patient(clinic_id=clinic.id, given_name="Pat", family_name="Bench")
        db.add(patient)
        db.flush()
        for week in range(WEEKS):
            for iid in INSTRUMENTS:
                when = start + timedelta(weeks=week)
                store_assessment(db, patient, iid, answers(iid, week, rng), Source.imported,
                                 Actor(None, "system"), when)  # fmt: skip
        db.commit()
        pid = patient.id
    settings = Settings(
        database_url=url, data_dir=tmp, secret_key="bench", audit_key=AUDIT_KEY,
        periodic_interval_s=0,
    )  # fmt: skip
    with TestClient(create_app(settings)) as client:
        client.get("/login")
        client.post("/login", data={"email": "c@bench.example", "password": "bench-password-123",
                                    "csrf_token": client.cookies.get("kc_csrf")})  # fmt: skip
        for _ in range(3):
            r = client.get(f"/patients/{pid}/trajectories")
            assert r.status_code == 200 and r.text.count('class="score"') == WEEKS * 3
        times = []
        for _ in range(30):
            t = time.perf_counter()
            client.get(f"/patients/{pid}/trajectories")
            times.append(time.perf_counter() - t)
    print(f"page: {WEEKS * 3} scores, {len(r.text) / 1024:.0f} KiB HTML; "
          f"median {statistics.median(times) * 1e3:.1f} ms, best {min(times) * 1e3:.1f} ms, "
          f"worst {max(times) * 1e3:.1f} ms of 30 (target < 100 ms)")  # fmt: skip

    pts = {
        iid: [Point(start + timedelta(weeks=w), rng.randint(0, 20), None) for w in range(WEEKS)]
        for iid in INSTRUMENTS
    }
    sessions = [start + timedelta(days=3 * k) for k in range(6)]
    sessions += [start + timedelta(weeks=4 * k) for k in range(2, 65)]
    svg_times = []
    for _ in range(50):
        t = time.perf_counter()
        for iid, p in pts.items():
            inst = get_instrument(iid)
            assert inst.range is not None
            trajectory_svg(inst.short_name, p, inst.bands, inst.range, sessions)
        svg_times.append(time.perf_counter() - t)
    print(f"SVG only, 3 charts with {len(sessions)} session markers: median "
          f"{statistics.median(svg_times) * 1e3:.2f} ms of 50")  # fmt: skip
    from fpdf import FPDF

    from ketacare.features.charts.render import pdf_svg

    t = time.perf_counter()
    doc = FPDF()
    doc.add_page()
    for iid, p in pts.items():
        inst = get_instrument(iid)
        assert inst.range is not None
        svg = trajectory_svg(inst.short_name, p, inst.bands, inst.range, sessions)
        doc.image(io.BytesIO(pdf_svg(svg)), w=170)
    pdf = bytes(doc.output())
    print(f"the same 3 charts embedded in a PDF as vector graphics (fpdf2): "
          f"{(time.perf_counter() - t) * 1e3:.0f} ms, {len(pdf) / 1024:.0f} KiB")  # fmt: skip


if __name__ == "__main__":
    main()
