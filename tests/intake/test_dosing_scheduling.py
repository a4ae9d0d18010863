"""Protocols, dosing, scheduling and ICS export (clinical.md §5), with hypothesis properties."""

from __future__ import annotations

import copy
import itertools
import json
import math
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ketacare.domain.course.dosing import (
    DoseRuleError,
    Override,
    dosing_weight,
    esketamine_dose,
    infusion_rate_ml_per_h,
    iv_ketamine_dose,
)
from ketacare.domain.course.protocols import (
    ProtocolError,
    builtin_protocols,
    parse_protocol,
    protocol_schema,
)
from ketacare.domain.course.scheduling import (
    ScheduleConstraints,
    ScheduleError,
    parse_weekdays,
    plan_course,
    reschedule_missed,
)
from ketacare.domain.errors import InvalidAnswer
from ketacare.features.intake.calendar import schedule_to_ics
from ketacare.features.intake.protocol_files import load_protocols

P = builtin_protocols()
IND = P["iv-ketamine-induction"]
ESK = P["esketamine-trd"]
DATA = Path(__file__).parents[2] / "src/ketacare/domain/course/protocols/data"
OVERRIDE = Override("Dr A", "documented non-response at 0.5 mg/kg")


# --- protocols -------------------------------------------------------------------------------
def test_builtin_protocols_match_reference() -> None:
    assert set(P) == {
        "iv-ketamine-induction",
        "iv-ketamine-maintenance-weekly",
        "iv-ketamine-maintenance-taper",
        "esketamine-trd",
        "esketamine-mdsi",
    }
    assert (IND.dose.mg_per_kg, IND.dose.duration_min, IND.total_sessions) == (0.5, 40, 6)
    assert (IND.phases[0].per_week, IND.phases[0].per_week_min, IND.phases[0].max_span_days) == (
        3,
        2,
        21,
    )
    assert [(p.sessions, p.interval_days) for p in P["iv-ketamine-maintenance-taper"].phases] == [
        (4, 7),
        (4, 14),
        (3, 28),
    ]
    assert P["iv-ketamine-maintenance-weekly"].total_sessions == 4
    assert (ESK.dose.start_mg, ESK.dose.steps_mg, ESK.dose.escalation_requires) == (
        56,
        (56, 84),
        ((84, 56),),
    )
    assert [(p.sessions, p.per_week, p.interval_days) for p in ESK.phases] == [
        (8, 2, None),
        (4, None, 7),
        (4, None, 14),
    ]
    assert ESK.variant("age-65-plus").start_mg == 28
    mdsi = P["esketamine-mdsi"]
    assert (mdsi.dose.start_mg, mdsi.total_sessions, mdsi.phases[0].per_week) == (84, 8, 2)


def test_builtin_files_validate_against_schema() -> None:
    for f in DATA.glob("*.json"):
        jsonschema.validate(json.loads(f.read_text()), protocol_schema())


def _raw(pid: str = "iv-ketamine-induction") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{pid}.json").read_text())
    return copy.deepcopy(data)


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.pop("dose"), "dose"),
        (lambda d: d["dose"].update(mg_per_kg=2.0), "dose.mg_per_kg"),
        (lambda d: d["phases"][0].update(interval_days=7), "phases[0]"),
        (lambda d: d.update(id="Bad Id"), "id"),
        (lambda d: d.update(version="1"), "version"),
        (lambda d: d.update(drug="esketamine"), "dose.kind"),
        (lambda d: d["phases"][0].update(sessions=0), "phases[0].sessions"),
        (lambda d: d.update(colour="red"), "colour"),
    ],
)
def test_invalid_protocol_rejected_with_field(mutate: Any, field: str) -> None:
    d = _raw()
    mutate(d)
    with pytest.raises(ProtocolError) as exc:
        parse_protocol(d, "clinic/x.json")
    assert exc.value.field == field
    assert str(exc.value).startswith("clinic/x.json: ")


def test_clinic_protocol_directory(tmp_path: Path) -> None:
    d = _raw()
    d.update(id="clinic-induction-8", title="Eight infusions")
    d["phases"][0].update(sessions=8, max_span_days=28)
    (tmp_path / "a.json").write_text(json.dumps(d))
    assert load_protocols(tmp_path)["clinic-induction-8"].total_sessions == 8
    (tmp_path / "b.json").write_text("{not json")
    with pytest.raises(ProtocolError, match=r"b\.json.*not valid JSON"):
        load_protocols(tmp_path)
    (tmp_path / "b.json").write_text(json.dumps(_raw()))
    with pytest.raises(
        ProtocolError, match=r"b\.json: id: 'iv-ketamine-induction' is already defined"
    ):
        load_protocols(tmp_path)


# --- dosing ----------------------------------------------------------------------------------
def test_iv_dose_reference() -> None:
    d = iv_ketamine_dose(IND, 80, concentration_mg_per_ml=10, volume_ml=100)
    assert (d.dose_mg, d.duration_min, d.drug_volume_ml, d.volume_ml) == (40.0, 40.0, 4.0, 100)
    assert d.rate_ml_per_h == 150.0
    assert "half up" in d.rounding
    neat = iv_ketamine_dose(IND, 80, concentration_mg_per_ml=10)
    assert neat.rate_ml_per_h == 6.0  # 4 mL over 40 min
    assert iv_ketamine_dose(IND, 73.33).dose_mg == 36.7


def test_weight_bases_are_options() -> None:
    assert dosing_weight(100, "ideal", 180, "male") == pytest.approx(74.99, abs=0.01)
    assert dosing_weight(100, "adjusted", 180, "male") == pytest.approx(84.99, abs=0.01)
    d = iv_ketamine_dose(IND, 100, weight_basis="ideal", height_cm=165, sex="female")
    assert d.dose_mg == pytest.approx(0.5 * (45.5 + 2.3 * (165 / 2.54 - 60)), abs=0.05)
    assert any("[U]" in r.text for r in d.reasons)
    with pytest.raises(InvalidAnswer) as exc:
        iv_ketamine_dose(IND, 100, weight_basis="ideal")
    assert exc.value.field == "height_cm"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"weight_kg": 29.9}, "weight_kg"),
        ({"weight_kg": 301}, "weight_kg"),
        ({"weight_kg": 70, "duration_min": 0}, "duration_min"),
        ({"weight_kg": 70, "concentration_mg_per_ml": 0}, "concentration_mg_per_ml"),
        ({"weight_kg": 70, "concentration_mg_per_ml": 1, "volume_ml": 10}, "volume_ml"),
        ({"weight_kg": 70, "volume_ml": -1}, "volume_ml"),
    ],
)
def test_implausible_inputs_rejected_naming_field(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidAnswer) as exc:
        iv_ketamine_dose(IND, **kwargs)
    assert exc.value.field == field


def test_ceiling_needs_override_with_reason() -> None:
    assert iv_ketamine_dose(IND, 70, mg_per_kg=1.0).dose_mg == 70.0
    with pytest.raises(DoseRuleError, match="ceiling") as exc:
        iv_ketamine_dose(IND, 70, mg_per_kg=1.2)
    assert exc.value.rule_id == "DOSE-CEILING"
    d = iv_ketamine_dose(IND, 70, mg_per_kg=1.2, override=OVERRIDE)
    assert d.dose_mg == 84.0
    assert any(r.rule_id == "DOSE-CEILING" for r in d.reasons)
    with pytest.raises(InvalidAnswer, match=r"override\.reason"):
        Override("Dr A", " ")


def test_esketamine_steps_start_and_escalation() -> None:
    assert esketamine_dose(ESK).dose_mg == 56
    assert esketamine_dose(ESK, 84, [56]).devices == 3
    with pytest.raises(DoseRuleError) as exc:
        esketamine_dose(ESK, 84)
    assert exc.value.rule_id in {"DOSE-START", "DOSE-ESCALATION"}
    with pytest.raises(DoseRuleError) as exc:
        esketamine_dose(ESK, 70, [56])
    assert exc.value.rule_id == "DOSE-STEP"
    with pytest.raises(DoseRuleError):
        esketamine_dose(ESK, 28, [])  # 28 mg only in the age-65-plus variant
    assert esketamine_dose(ESK, variant="age-65-plus").dose_mg == 28
    assert esketamine_dose(ESK, 56, [28], variant="age-65-plus").devices == 2
    with pytest.raises(DoseRuleError, match="after a 56 mg"):
        esketamine_dose(ESK, 84, [28], variant="age-65-plus")
    assert esketamine_dose(ESK, 84, override=OVERRIDE).override == OVERRIDE
    assert esketamine_dose(P["esketamine-mdsi"]).dose_mg == 84


@settings(max_examples=150, deadline=None)
@given(w=st.floats(30, 150), k=st.floats(1.0, 2.0))
def test_dose_linear_in_weight(w: float, k: float) -> None:
    a = iv_ketamine_dose(IND, w)
    b = iv_ketamine_dose(IND, w * k)
    assert b.dose_mg_exact == pytest.approx(k * a.dose_mg_exact, rel=1e-9)
    assert abs(a.dose_mg - a.dose_mg_exact) <= 0.05 + 1e-9


@settings(max_examples=150, deadline=None)
@given(w=st.floats(30, 300), mgkg=st.floats(0.05, 3.0))
def test_never_above_ceiling_without_override(w: float, mgkg: float) -> None:
    try:
        d = iv_ketamine_dose(IND, w, mg_per_kg=mgkg)
    except DoseRuleError:
        assert mgkg > 1.0
    else:
        assert d.dose_mg_exact <= 1.0 * w + 1e-9


@settings(max_examples=150, deadline=None)
@given(w=st.floats(30, 300), conc=st.floats(1, 100), vol=st.floats(50, 500), dur=st.floats(1, 240))
def test_rate_times_duration_is_volume(w: float, conc: float, vol: float, dur: float) -> None:
    d = iv_ketamine_dose(
        IND, w, concentration_mg_per_ml=conc, volume_ml=vol + 300, duration_min=dur
    )
    assert d.rate_ml_per_h_exact is not None
    assert d.rate_ml_per_h_exact * dur / 60 == pytest.approx(vol + 300, rel=1e-9)
    assert infusion_rate_ml_per_h(vol, dur) * dur / 60 == pytest.approx(vol, rel=1e-9)


# --- scheduling ------------------------------------------------------------------------------
MON = date(2025, 3, 3)


def test_induction_mon_wed_fri_and_closure() -> None:
    cons = ScheduleConstraints(parse_weekdays("mon,wed,fri"), frozenset({date(2025, 3, 5)}))
    s = plan_course(IND, MON, cons, weight_kg=70)
    assert [x.day.isoformat() for x in s.sessions] == [
        "2025-03-03",
        "2025-03-07",
        "2025-03-10",
        "2025-03-12",
        "2025-03-14",
        "2025-03-17",
    ]
    assert s.sessions[0].planned_dose_mg == 35.0
    assert (s.sessions[-1].day - s.sessions[0].day).days < 21


def test_within_21_days_is_enforced() -> None:
    with pytest.raises(ScheduleError) as exc:
        plan_course(IND, MON, ScheduleConstraints(parse_weekdays("mon")))
    assert exc.value.field == "max_span_days"
    with pytest.raises(ScheduleError) as exc:
        parse_weekdays("mon,funday")
    assert exc.value.field == "weekdays"


def test_esketamine_trd_calendar_and_doses() -> None:
    s = plan_course(ESK, MON)
    days = [x.day for x in s.sessions]
    assert len(days) == 16
    assert all((days[i] - MON).days // 7 == i // 2 for i in range(8))  # twice weekly, weeks 1-4
    assert [(days[i + 1] - days[i]).days for i in range(7, 11)] == [7, 7, 7, 7]
    assert s.sessions[0].dose_label == "56 mg"
    assert "56 or 84" in s.sessions[1].dose_label
    assert plan_course(ESK, MON, variant="age-65-plus").sessions[0].planned_dose_mg == 28


def test_reschedule_missed_keeps_constraints() -> None:
    cons = ScheduleConstraints(parse_weekdays("mon,wed,fri"), frozenset({date(2025, 3, 10)}))
    s = plan_course(IND, MON, cons)
    r = reschedule_missed(s, IND, 3, date(2025, 3, 8), cons)
    days = [x.day for x in r.sessions]
    assert days[:2] == [x.day for x in s.sessions[:2]]
    assert days[2] == date(2025, 3, 12)
    _check(days, cons, 48)
    assert (days[-1] - days[0]).days < 21
    with pytest.raises(ScheduleError, match="max_span_days"):
        reschedule_missed(s, IND, 6, date(2025, 3, 28), cons)


def _check(days: list[date], cons: ScheduleConstraints, spacing_h: float) -> None:
    gap = timedelta(days=math.ceil(spacing_h / 24))
    for a, b in itertools.pairwise(days):
        assert b - a >= gap
    for d in days:
        assert d.weekday() in cons.weekdays
        assert d not in cons.closures


@settings(max_examples=80, deadline=None)
@given(
    pid=st.sampled_from(sorted(P)),
    start=st.dates(date(2025, 1, 1), date(2026, 12, 31)),
    weekdays=st.frozensets(st.integers(0, 6), min_size=3),
    closures=st.lists(st.integers(0, 120), max_size=6),
    spacing=st.sampled_from([24.0, 48.0, 72.0]),
)
def test_schedule_properties(
    pid: str, start: date, weekdays: frozenset[int], closures: list[int], spacing: float
) -> None:
    cons = ScheduleConstraints(
        weekdays, frozenset(start + timedelta(days=c) for c in closures), spacing
    )
    try:
        s = plan_course(P[pid], start, cons)
    except ScheduleError as exc:
        err: ScheduleError | None = exc
    else:
        err = None
    if err is not None:
        # max_span_days, or a phase that would lose its frequency (issue 14 point 6)
        assert err.field in {"max_span_days", "weekdays"}
        return
    days = [x.day for x in s.sessions]
    assert len(days) == P[pid].total_sessions
    assert days[0] >= start
    _check(days, cons, spacing)


# --- ICS -------------------------------------------------------------------------------------
def test_ics_is_rfc5545_shaped() -> None:
    s = plan_course(IND, MON, ScheduleConstraints(parse_weekdays("mon,wed,fri")), weight_kg=70)
    text = schedule_to_ics(s, datetime(2025, 1, 1, 12, 0), title="Infusion, ketamine; IV")
    lines = text.split("\r\n")
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-2:] == ["END:VCALENDAR", ""]
    assert text.count("BEGIN:VEVENT") == 6
    assert "DTSTART;VALUE=DATE:20250303" in text
    assert "DTSTAMP:20250101T120000Z" in text
    assert "SUMMARY:Infusion\\, ketamine\\; IV 1/6 (induction)" in text
    assert all(len(line.encode()) <= 75 for line in lines)
    assert "\n" not in text.replace("\r\n", "")
    long = schedule_to_ics(s, datetime(2025, 1, 1), title="x" * 200)
    assert all(len(line.encode()) <= 75 for line in long.split("\r\n"))
    assert "\r\n " in long
