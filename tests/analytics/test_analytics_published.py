"""Published tables: Lii 2023 counts reproduced from a cohort built from its table, loaders."""

from __future__ import annotations

from pathlib import Path

import pytest

from ketacare.domain.analytics import (
    AnalyticsConfig,
    AssessmentTable,
    SessionTable,
    analyse_outcomes,
    parse_published_rates,
    wilson_interval,
)
from ketacare.domain.errors import DomainError
from ketacare.features.reports.files import CohortFileError, load_published_rates

from .analytics_support import PUBLISHED, day, hand_tables

pytestmark = pytest.mark.skipif(not PUBLISHED.is_dir(), reason=f"{PUBLISHED} not present")

#: MADRS totals by (baseline, responder, remitter); response >= 50 % from screening, remission
#: <= 12 (Lii 2023). High baselines allow "response without remission", low ones the reverse.
SCORE = {
    (30, True, True): 10, (30, True, False): 14, (30, False, False): 20,
    (20, True, True): 8, (20, False, True): 12, (20, False, False): 16,
}  # fmt: skip


def _lii_cohort() -> tuple[AssessmentTable, SessionTable, dict[tuple[str, int], tuple[int, ...]]]:
    rates = load_published_rates(PUBLISHED, ["lii2023_madrs.csv"])
    counts: dict[tuple[str, int], tuple[int, ...]] = {}
    ids: list[str] = []
    when: list[str] = []
    total: list[float] = []
    s_ids: list[str] = []
    for r in rates:
        d = int(r.timepoint.split()[1])
        if r.response_k is None or r.remission_k is None:
            continue  # day 0: no response counts (and remission at day 0 is a baseline value)
        n = round(100 * r.response_k / r.response_pct) if r.response_pct else r.n
        counts[(r.design, d)] = (r.response_k, n, r.remission_k, r.n)
    for arm in ("ketamine", "placebo"):
        patients = [(f"{arm}-{i:02d}", 30 if i < 10 else 20) for i in range(20)]
        for pid, base in patients:
            s_ids.append(pid)
            ids += [pid, pid]
            when += [day(-7), day(0)]
            total += [base, 25]  # screening value (the baseline), then day 0 before treatment
        for (arm_of, d), (rk, n, mk, _) in sorted(counts.items()):
            if arm_of != arm:
                continue
            present = patients[:n]  # from day 5 the last patient has no assessment (19/arm)
            both = min(rk, mk)
            x, y = rk - both, mk - both  # response only (high baseline), remission only (low)
            high = [p for p in present if p[1] == 30]
            low = [p for p in present if p[1] == 20]
            assert x <= len(high) and y <= len(low) and x + y + both <= len(present)
            plan = dict.fromkeys(high[:x], (True, False)) | dict.fromkeys(low[:y], (False, True))
            rest = [p for p in present if p not in plan]
            plan |= dict.fromkeys(rest[:both], (True, True))
            plan |= dict.fromkeys(rest[both:], (False, False))
            for (pid, base), (resp, rem) in plan.items():
                ids.append(pid)
                when.append(day(d))
                total.append(SCORE[(base, resp, rem)])
    a = AssessmentTable.from_arrays("madrs", ids, when, total)
    s = SessionTable.from_arrays(s_ids, [day(0)] * len(s_ids), [i.split("-")[0] for i in s_ids])
    return a, s, counts


def test_lii2023_response_and_remission_counts_reproduced() -> None:
    a, s, counts = _lii_cohort()
    cfg = AnalyticsConfig(
        baseline="first_before_first_session",  # Lii 2023 used the screening value [V]
        timepoints_days=(1, 2, 3, 5, 7, 14),
        timepoint_window_days=0,
    )
    result = analyse_outcomes(a, s, config=cfg, by=("protocol",))
    assert result.definitions.remission_threshold == 12  # MADRS default, as Lii 2023
    groups = {g.group: g for g in result.breakdowns["protocol"]}
    assert set(groups) == {"ketamine", "placebo"}
    for (arm, d), (rk, rn, mk, mn) in counts.items():
        tp = next(t for t in groups[arm].timepoints if t.day == d)
        assert (tp.response.k, tp.response.n) == (rk, rn), (arm, d)
        assert tp.remission is not None
        assert (tp.remission.k, tp.remission.n) == (mk, mn), (arm, d)
        assert tp.response.ci == pytest.approx(wilson_interval(rk, rn))
    # Ketamine day 1: 12/20 responders, 10/20 remitters (Extended Data Table 1)
    assert counts[("ketamine", 1)] == (12, 20, 10, 20)
    assert groups["ketamine"].n_patients == 20


def test_published_rate_tables_load() -> None:
    rates = load_published_rates(PUBLISHED)
    studies = {r.study for r in rates}
    assert {"Oliver 2022", "McInnes 2022", "TRANSFORM-2"} <= studies
    mcinnes = next(r for r in rates if r.study == "McInnes 2022")
    assert (mcinnes.instrument, mcinnes.response_pct, mcinnes.remission_pct) == ("phq9", 53.6, 28.9)
    assert all(r.kaplan_meier for r in rates if r.study == "Oliver 2022")
    assert next(r for r in rates if r.study == "McIntyre 2020").instrument == "qids-sr16"


def test_comparison_lists_differences() -> None:
    a, s, _ = hand_tables()
    rates = load_published_rates(PUBLISHED)
    result = analyse_outcomes(a, s, published=rates)
    by_study = {c.published.study: c for c in result.published}
    assert not any("instrument" in d for d in by_study["McInnes 2022"].differences)
    assert any("remission threshold" in d for d in by_study["KetECT (Ekstrand 2022)"].differences)
    assert any("Kaplan" in d for d in by_study["Oliver 2022"].differences)
    assert result.as_dict()["published"]


def test_bad_published_rows(tmp_path: Path) -> None:
    with pytest.raises(DomainError, match="line 2"):
        parse_published_rates([{"foo": "1"}], "x.csv")
    with pytest.raises(DomainError, match="'n'"):
        parse_published_rates(
            [{"study": "s", "arm": "a", "n": "many", "response_pct": "1", "remission_pct": ""}],
            "x.csv",
        )
    with pytest.raises(CohortFileError):
        load_published_rates(tmp_path)
