"""The charts package (issue 16.6): one lock around matplotlib's global settings, one
trajectory chart for pages and PDFs, CSP-safe page SVG; matplotlib and fpdf2 load with the
first chart or PDF, not when the app starts."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path

import matplotlib
import pytest
from fpdf import FPDF
from markupsafe import Markup

from ketacare.domain.analytics import Definitions, OutcomeSummary, analyse_outcomes
from ketacare.domain.instruments import get_instrument
from ketacare.domain.pk import PKBand
from ketacare.features.charts.outcomes import km_chart, rates_chart
from ketacare.features.charts.render import drawing, pdf_svg
from ketacare.features.charts.trajectory import Point, trajectory_svg
from ketacare.features.pk.plan import session_band as _band
from ketacare.features.sessions.chart import chart_svg
from ketacare.features.sessions.models import TreatmentSession, VitalSign
from tests.analytics.analytics_support import hand_tables

T0 = datetime(2025, 3, 3, 14, 0, tzinfo=UTC)
SVG = "{http://www.w3.org/2000/svg}"


def _session() -> tuple[TreatmentSession, list[VitalSign], PKBand | None]:
    s = TreatmentSession(route="esketamine", given_dose_mg=56.0, dose_start=T0)
    vitals = [
        VitalSign(at=T0 + timedelta(minutes=m), systolic=120 + m // 4, diastolic=80, spo2=98)
        for m in (-5, 40, 90)
    ]
    return s, vitals, _band("esketamine", 56.0, 40.0, 70.0, 45.0)


@pytest.fixture(scope="module")
def analysis() -> tuple[OutcomeSummary, Definitions]:
    a, s, p = hand_tables()
    result = analyse_outcomes(a, s, p)
    return result.overall, result.definitions


def test_report_and_session_charts_drawn_at_once_leave_rcparams_alone(
    analysis: tuple[OutcomeSummary, Definitions],
) -> None:
    """Threads drawing a report chart and a session chart concurrently get the same bytes as
    one at a time, and matplotlib's process-global settings are unchanged afterwards."""
    overall, definitions = analysis
    before = dict(matplotlib.rcParams)
    session = _session()
    expected = {
        "km": km_chart({"all": overall.time_to_response}),
        "rates": rates_chart(overall, definitions),
        "session": chart_svg(*session),
    }
    results: dict[str, list[str]] = {k: [] for k in expected}
    errors: list[BaseException] = []
    start = threading.Barrier(6)

    def work(kind: str) -> None:
        try:
            start.wait()
            for _ in range(3):
                if kind == "km":
                    out = km_chart({"all": overall.time_to_response})
                elif kind == "rates":
                    out = rates_chart(overall, definitions)
                else:
                    out = chart_svg(*session)
                results[kind].append(out)
        except BaseException as exc:  # reported below, with the thread's kind
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in (*expected, *expected)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    after = dict(matplotlib.rcParams)
    assert after == before
    assert after["svg.fonttype"] == matplotlib.rcParamsDefault["svg.fonttype"]
    assert after["font.size"] == matplotlib.rcParamsDefault["font.size"]
    for kind, outs in results.items():
        assert len(outs) == 6
        for out in outs:
            assert out == expected[kind], kind  # drawn with our style, not a neighbour's
            root = ET.fromstring(out)
            assert root.tag == f"{SVG}svg"
    session_svg = ET.fromstring(expected["session"])
    assert session_svg.get("role") == "img" and "style=" not in expected["session"]
    assert "Vitals" in expected["session"] and "No readings yet" not in expected["session"]
    assert 'id="km-curve-all"' in expected["km"]


def test_drawing_is_reentrant_and_restores_settings() -> None:
    before = dict(matplotlib.rcParams)
    with drawing():
        assert matplotlib.rcParams["svg.fonttype"] == "none"
        with drawing():
            assert matplotlib.rcParams["font.size"] == 9
    assert dict(matplotlib.rcParams) == before


def _phq9_chart(baseline: float | None = 20) -> Markup:
    inst = get_instrument("phq9")
    assert inst.range is not None and inst.default_band_set is not None
    bands = inst.band_sets[inst.default_band_set].bands
    points = [Point(T0 + timedelta(days=7 * k), total, None) for k, total in enumerate((20, 9, 4))]
    sessions = [T0 + timedelta(days=2 * k) for k in range(4)]
    return trajectory_svg("PHQ-9 trajectory", points, bands, inst.range, sessions, "UTC", baseline)


def test_trajectory_chart_has_bands_scores_sessions_and_response_line() -> None:
    svg = str(_phq9_chart())
    root = ET.fromstring(svg)
    assert root.get("aria-label") == "PHQ-9 trajectory" and "style=" not in svg
    assert len(root.findall(f"{SVG}circle")) == 3
    assert len([e for e in root.iter() if e.get("class") == "session"]) == 4
    response = [e for e in root.iter() if e.get("class") == "response"]
    assert len(response) == 1 and "50% of baseline (10)" in svg
    assert 'class="response"' not in str(_phq9_chart(baseline=None))
    assert "Severe" in svg and "Mild" in svg


def test_trajectory_of_scores_hours_apart_spans_at_least_two_weeks() -> None:
    inst = get_instrument("phq9")
    assert inst.range is not None
    pts = [Point(T0, 12, None), Point(T0 + timedelta(hours=1), 11, None)]
    root = ET.fromstring(str(trajectory_svg("t", pts, (), inst.range)))
    xs = [float(c.get("cx", "0")) for c in root.findall(f"{SVG}circle")]
    assert 0 < xs[1] - xs[0] < 2  # an hour of a two-week axis, not the whole width
    assert trajectory_svg("t", [], (), inst.range) == Markup("")


def test_the_pdf_embeds_the_same_trajectory_chart(tmp_path: Path) -> None:
    body = pdf_svg(str(_phq9_chart()))
    assert b"<title>" not in body and body.startswith(b"<svg")
    doc = FPDF()
    doc.add_page()
    doc.image(io.BytesIO(body), w=170)
    out = bytes(doc.output())
    assert out.startswith(b"%PDF") and len(out) > 2000


def test_session_chart_is_hand_written_svg_without_matplotlib() -> None:
    """The session page's chart (drawn on every view) is plain SVG: one line per vital with a
    point per reading, the predicted band and typical curve, the disclaimer; no lock taken."""
    from ketacare.features.charts import render

    s, vitals, band = _session()
    with render.LOCK:  # held elsewhere: a hand-written chart does not wait for it
        done: list[str] = []
        t = threading.Thread(target=lambda: done.append(chart_svg(s, vitals, band)))
        t.start()
        t.join(5)
    assert done, "the session chart waited for the matplotlib lock"
    svg = done[0]
    root = ET.fromstring(svg)
    assert root.get("role") == "img" and "style=" not in svg and "<script" not in svg
    titles = [e.text for e in root.iter(f"{SVG}title")]
    assert {"SBP", "DBP", "SpO2 %", "90% band", "Typical patient"} <= set(titles)
    assert len(root.findall(f".//{SVG}circle")) == 9  # 3 readings x 3 vitals recorded
    assert "Decision support, not dosing guidance." in svg
    empty = chart_svg(TreatmentSession(route="im"), [], None)
    assert "No readings yet" in empty and "No PK model for this route" in empty


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    from ketacare.features.charts.lines import nice_ticks

    assert nice_ticks(0, 100) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(-5, 90) == [0, 20, 40, 60, 80]
    assert nice_ticks(0, 0.9) == [0, 0.2, 0.4, 0.6, 0.8]
    assert nice_ticks(3, 3) == [3]


def test_content_digest_follows_the_data() -> None:
    import numpy as np

    from ketacare.features._kit.memo import ContentCache, digest

    a = np.array([1, 2, 3], dtype=np.int64)
    assert digest(a, "x") == digest(a.copy(), "x")
    assert digest(a, "x") != digest(np.array([1, 2, 4], dtype=np.int64), "x")
    assert digest(a) != digest(a.astype(np.float64))
    calls: list[int] = []
    cache: ContentCache[int] = ContentCache(2)

    def compute() -> int:
        calls.append(1)
        return len(calls)

    for key in ("a", "a", "b", "c", "a"):
        cache.get(key, compute)
    assert len(calls) == 4  # "a" computed again after "b" and "c" pushed it out


def test_the_app_starts_without_matplotlib_or_fpdf2(tmp_path: Path) -> None:
    """Building the app (every feature's routes) imports neither: they are some 0.7 s of a
    server's start (benchmarks/app_startup.py), and they load with the first chart or PDF
    drawn (docs/architecture.md, "Hot paths"); the PDF and chart tests show they still do."""
    code = (
        "import sys\n"
        "from ketacare.settings import Settings\n"
        "from ketacare.web.app import create_app\n"
        "s = Settings(database_url=sys.argv[1], data_dir=sys.argv[2], secret_key='x' * 32)\n"
        "create_app(s)\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'matplotlib', 'fpdf'}))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KETACARE_")}
    argv = [sys.executable, "-c", code, f"sqlite:///{tmp_path}/k.db", str(tmp_path)]
    r = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"
