"""Issue 14 point 6: a plan never reshapes a protocol phase silently (every built-in phase)."""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import pytest
import typer
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from ketacare.domain.course.protocols import builtin_protocols
from ketacare.domain.course.scheduling import (
    ScheduleConstraints,
    ScheduleError,
    parse_weekdays,
    plan_course,
)
from ketacare.features.intake.cli import schedule

P = builtin_protocols()
MON = date(2025, 3, 3)
app = typer.Typer()
app.command("schedule")(schedule)
app.command("noop")(lambda: None)
runner = CliRunner()


@pytest.mark.parametrize("pid", ["esketamine-trd", "esketamine-mdsi"])
def test_twice_weekly_induction_on_one_weekday_is_refused(pid: str) -> None:
    # Before: 8 weekly doses over 50 days, exit 0.
    with pytest.raises(ScheduleError) as exc:
        plan_course(P[pid], MON, ScheduleConstraints(parse_weekdays("mon")))
    assert exc.value.field == "weekdays"
    assert "mon" in exc.value.reason
    assert "2 sessions a week" in exc.value.reason
    r = runner.invoke(app, ["schedule", "--protocol", pid, "--start", "2025-03-03",
                            "--weekdays", "mon", "--json"])  # fmt: skip
    assert r.exit_code == 2
    assert "--weekdays" in r.stderr
    assert "mon" in r.stderr
    assert "Traceback" not in r.stderr


def test_two_weekdays_keep_the_induction() -> None:
    s = plan_course(P["esketamine-trd"], MON, ScheduleConstraints(parse_weekdays("mon,thu")))
    induction = [x.day for x in s.sessions if x.phase == "induction"]
    assert len(induction) == 8
    assert (induction[-1] - induction[0]).days < 28
    r = runner.invoke(app, ["schedule", "--protocol", "esketamine-trd", "--start", "2025-03-03",
                            "--weekdays", "mon,thu", "--json"])  # fmt: skip
    assert r.exit_code == 0
    assert len(json.loads(r.stdout)["sessions"]) == 16


def test_interval_phase_pushed_late_by_closures_is_refused() -> None:
    weekly = P["iv-ketamine-maintenance-weekly"]
    closures = frozenset(MON + timedelta(days=7 + d) for d in range(5))  # week 2 closed
    with pytest.raises(ScheduleError) as exc:
        plan_course(
            weekly, MON, ScheduleConstraints(parse_weekdays("mon,tue,wed,thu,fri"), closures)
        )
    assert exc.value.field == "weekdays"
    assert "every 7 days" in exc.value.reason


def _keeps_phases(pid: str, days: list[date], cons: ScheduleConstraints) -> None:
    k = 0
    prev = None
    for ph in P[pid].phases:
        mine = days[k : k + ph.sessions]
        k += ph.sessions
        if ph.per_week is not None:
            need = ph.per_week_min or ph.per_week
            assert (mine[-1] - mine[0]).days < math.ceil(ph.sessions / need) * 7
        else:
            assert ph.interval_days is not None
            for d in mine:
                if prev is not None:
                    assert (d - prev).days - ph.interval_days <= cons.max_interval_delay_days
                prev = d
        prev = mine[-1]


@settings(max_examples=150, deadline=None)
@given(
    pid=st.sampled_from(sorted(P)),
    start=st.dates(date(2025, 1, 1), date(2026, 12, 31)),
    weekdays=st.frozensets(st.integers(0, 6), min_size=1),
    closures=st.lists(st.integers(0, 120), max_size=6),
)
def test_every_phase_keeps_its_frequency_or_is_refused(
    pid: str, start: date, weekdays: frozenset[int], closures: list[int]
) -> None:
    cons = ScheduleConstraints(weekdays, frozenset(start + timedelta(days=c) for c in closures))
    try:
        s = plan_course(P[pid], start, cons)
    except ScheduleError as exc:
        err: ScheduleError | None = exc
    else:
        err = None
    if err is not None:
        assert err.field in {"weekdays", "max_span_days"}
        return
    _keeps_phases(pid, [x.day for x in s.sessions], cons)
