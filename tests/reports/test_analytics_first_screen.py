"""The first screen of /analytics (issue 21.3): response and remission with 95% intervals,
the patients behind each figure and how many were followed up, beside the published anchors
of the same instrument at their threshold and window; everything else collapsed. Anchors
added for ESCAPE-TRD, ELEKT-D, SUSTAIN-1 and the 2025 monotherapy trial, with sources and
[V]/[S]/[U] tags. Both databases."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from ketacare.domain.analytics import (
    TRIAL_ANCHORS,
    AssessmentTable,
    PublishedRate,
    SessionTable,
    analyse_outcomes,
    remission_cut,
)
from ketacare.features.auth.models import Role
from ketacare.features.reports.published import published_rates
from ketacare.settings import Settings
from tests.conftest import login, make_user
from tests.reports.support import small_clinic


def test_trial_anchors_have_sources_and_tags() -> None:
    studies = {a.study.split(" (")[0].split(",")[0] for a in TRIAL_ANCHORS}
    assert {"ESCAPE-TRD", "ELEKT-D", "SUSTAIN-1", "Esketamine monotherapy"} <= studies
    for a in TRIAL_ANCHORS:
        assert a.source and a.tag in ("V", "S", "U"), a.study
    by = {(a.study, a.design.split(";")[0]): a for a in TRIAL_ANCHORS}
    escape = next(a for a in TRIAL_ANCHORS if a.study.startswith("ESCAPE-TRD (") and a.n == 336)
    assert escape.instrument == "madrs" and remission_cut(escape.definition) == 10
    assert escape.window_day == 56 and escape.remission_pct == 27.1 and escape.tag == "U"
    elekt = [a for a in TRIAL_ANCHORS if a.study.startswith("ELEKT-D")]
    assert [a.response_pct for a in elekt] == [55.4, 41.2]
    assert all(a.instrument == "qids-sr16" and remission_cut(a.definition) == 5 for a in elekt)
    sustain = [a for a in TRIAL_ANCHORS if a.study.startswith("SUSTAIN-1")]
    assert [a.relapse_pct for a in sustain] == [26.7, 45.3] and all(a.tag == "V" for a in sustain)
    assert all(a.response_pct is None and a.remission_pct is None for a in sustain)
    mono = next(a for a in TRIAL_ANCHORS if a.study.startswith("Esketamine monotherapy"))
    assert mono.response_pct is None and "not verified" in mono.note and "2025-01-21" in mono.source
    assert len(by) >= 4
    # The built-in list the pages use holds the fixtures and the new anchors.
    names = {p.study for p in published_rates()}
    assert "McInnes 2022" in names and "ELEKT-D (Anand 2023)" in names


def _cohort() -> tuple[AssessmentTable, SessionTable]:
    # Four PHQ-9 patients: baselines 20, 18, 16, 20; day 28 scores 8, 4, 12, none.
    pid = [1, 1, 2, 2, 3, 3, 4]
    when = ["2024-01-01", "2024-01-29"] * 3 + ["2024-01-01"]
    totals = [20, 8, 18, 4, 16, 12, 20]
    a = AssessmentTable.from_arrays("phq9", pid, when, totals)
    s = SessionTable.from_arrays([1, 2, 3, 4], ["2024-01-01"] * 4, "iv-ketamine-induction")
    return a, s


def test_anchor_figures_recompute_threshold_and_window() -> None:
    a, s = _cohort()
    at28 = PublishedRate("A", "", 10, "response: PHQ-9 reduction >=50%; remission: PHQ-9 <5",
                         "day 28", 50.0, 25.0, "phq9", window_day=28.0)  # fmt: skip
    loose = PublishedRate("B", "", 10, "response: PHQ-9 reduction >=50%; remission: PHQ-9 <=9",
                          "day 28", 50.0, 25.0, "phq9", window_day=28.0)  # fmt: skip
    week8 = PublishedRate("C", "", 10, "response: PHQ-9 reduction >=50%; remission: PHQ-9 <5",
                          "week 8", 50.0, 25.0, "phq9", window_day=56.0)  # fmt: skip
    madrs = PublishedRate("D", "", 10, "remission: MADRS <=10", "x", None, 20.0, "madrs")
    r = analyse_outcomes(a, s, published=[at28, loose, week8, madrs])
    assert [f.published.study for f in r.anchors] == ["A", "B", "C"]  # other instrument: out
    f28, fl, f8 = r.anchors
    # Followed up: 3 of the 4 patients with a baseline had a score near day 28.
    assert (f28.clinic.n_eligible, f28.clinic.n_observed) == (4, 3)
    assert (f28.clinic.response.k, f28.clinic.response.n) == (2, 3)  # 20->8, 18->4
    assert f28.clinic.remission is not None and f28.clinic.remission.k == 1  # <= 4: only 4
    assert fl.clinic.remission is not None and fl.clinic.remission.k == 2  # <= 9: 8 and 4
    assert f28.matches and fl.matches and f28.window == "day_28"
    assert not f8.matches and f8.window == "end_of_induction"
    assert "day 56" in f8.differences[0]
    d = f28.as_dict()
    assert d["window"] == "day_28" and d["remission_threshold"] == 4 and d["differences"] == []
    assert d["published"]["window_day"] == 28.0  # type: ignore[index]
    lo, hi = f28.clinic.response.ci or (0, 0)
    assert 0 < lo < 2 / 3 < hi < 1  # a Wilson 95% interval around 2/3


def test_first_screen_then_details(client: TestClient, db: Session, settings: Settings) -> None:
    clinic, _ = small_clinic(db, settings, n=12, seed=31)
    login(client, make_user(db, clinic, Role.clinician).email)
    html = client.get("/analytics?synthetic=include").text
    first, _, rest = html.partition('<details id="details">')
    assert rest, "the details are collapsed in <details>"
    assert '<details id="details" open' not in html
    # First screen: the two figures with 95% intervals and counts, followed-up patients.
    for fid in ("fig-response", "fig-remission", "fig-followup", "anchors"):
        assert f'id="{fid}"' in first, fid
    assert re.search(r"95% CI \d+–\d+%", first)
    followed = re.search(r'id="n-followed">(\d+)<', first)
    baseline = re.search(r'id="n-baseline">(\d+)<', first)
    assert followed and baseline and int(followed.group(1)) <= int(baseline.group(1))
    # PHQ-9 anchors only, at their own threshold: McInnes (PHQ-9 <5) and ESCAPE-TRD's
    # US-label PHQ-9 analysis; no MADRS or QIDS trial on the PHQ-9 screen.
    anchors = first[first.index('id="anchors"') :]
    assert "McInnes 2022" in anchors and "ESCAPE-TRD, US-label subgroup (2025)" in anchors
    assert "ELEKT-D" not in anchors and "TRANSFORM-2" not in anchors
    assert "remission ≤ 4" in anchors and "[S]" in anchors
    assert "Same" in anchors or "Differs" in anchors
    # Details: every timepoint, groups, all published rates (with the new trials and their
    # sources and tags) and the definitions.
    for text in ('id="rates"', "By protocol", 'id="published"', "SUSTAIN-1 (Daly 2019)",
                 "ELEKT-D (Anand 2023)", "NCT04599855", "[U]", 'id="definitions"'):  # fmt: skip
        assert text in rest, text


def test_madrs_anchors_are_the_esketamine_trials() -> None:
    pid = [1, 1, 2, 2]
    when = ["2024-01-01", "2024-01-29"] * 2
    a = AssessmentTable.from_arrays("madrs", pid, when, [36, 10, 30, 20])
    s = SessionTable.from_arrays([1, 2], ["2024-01-01"] * 2, "esketamine-trd")
    r = analyse_outcomes(a, s, published=published_rates())
    studies = [f.published.study for f in r.anchors]
    assert "TRANSFORM-2" in studies and "ESCAPE-TRD (Reif 2023)" in studies
    assert not any(
        s.startswith(("SUSTAIN-1", "Esketamine monotherapy", "ELEKT-D")) for s in studies
    )
    t2 = next(f for f in r.anchors if f.published.study == "TRANSFORM-2")
    assert t2.window == "day_28" and t2.matches and t2.remission_threshold == 12
    esc = next(f for f in r.anchors if f.published.study == "ESCAPE-TRD (Reif 2023)")
    assert esc.remission_threshold == 10 and not esc.matches  # week 8: no clinic day 56
    # One session each: no end-of-induction score, so nobody is followed up at that window.
    assert (esc.clinic.n_eligible, esc.clinic.n_observed) == (2, 0)
    assert t2.clinic.remission is not None and t2.clinic.remission.k == 1  # 10 <= 12
