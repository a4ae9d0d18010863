"""Edges of the course rules (protocol files, doses, schedules, calendar) and the date range:
every refusal names its field (issue 16.9: every line of ``ketacare.domain`` is exercised)."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ketacare.domain.course.dosing import (
    Override,
    esketamine_dose,
    ideal_body_weight,
    iv_ketamine_dose,
)
from ketacare.domain.course.protocols import ProtocolError, builtin_protocols, parse_protocol
from ketacare.domain.course.scheduling import (
    ScheduleConstraints,
    ScheduleError,
    check_phase_frequency,
    plan_course,
    reschedule_missed,
)
from ketacare.domain.dates import EARLIEST, LATEST, out_of_range
from ketacare.domain.errors import InvalidAnswer
from ketacare.features.intake.calendar import schedule_to_ics

DATA = Path(__file__).resolve().parents[1] / "src/ketacare/domain/course/protocols/data"
MONDAY = date(2025, 3, 3)


def raw(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text("utf-8"))
    return data


IV, ESK = "iv-ketamine-induction", "esketamine-trd"


def _set(d: dict[str, Any], path: str, value: object) -> dict[str, Any]:
    out = copy.deepcopy(d)
    node: Any = out
    *head, last = path.split(".")
    for k in head:
        node = node[int(k)] if isinstance(node, list) else node[k]
    if value is _DELETE:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


_DELETE = object()


@pytest.mark.parametrize(
    ("name", "path", "value", "field"),
    [
        (IV, "schema_version", 2, "schema_version"),
        (IV, "drug", "ketamine-s", "drug"),
        (IV, "route", "oral", "route"),
        (IV, "phases", [], "phases"),
        (IV, "variants", {}, "variants"),
        (IV, "title", " ", "title"),
        (IV, "dose.mg_per_kg", "0.5", "dose.mg_per_kg"),
        (IV, "dose.duration_min", _DELETE, "dose"),
        (IV, "dose.weight_basis", "lean", "dose.weight_basis"),
        (IV, "dose.kind", "per_lb", "dose.kind"),
        (IV, "sources", "Zarate 2006", "sources"),
        (IV, "phases.0.per_week_min", 4, "phases[0].per_week_min"),
        (ESK, "dose.start_mg", 28, "dose.start_mg"),
        (ESK, "dose.ceiling_mg", 56, "dose.ceiling_mg"),
        (ESK, "dose.steps_mg", [84, 56], "dose.steps_mg"),
        (ESK, "dose.escalation_requires", [56], "dose.escalation_requires"),
        (ESK, "dose.escalation_requires", {"112": 56}, "dose.escalation_requires.112"),
        (ESK, "phases.1.interval_days_min", 8, "phases[1].interval_days_min"),
        (ESK, "phases.2.open_ended", "yes", "phases[2].open_ended"),
        (ESK, "variants.0.start_mg", 42, "variants[0].start_mg"),
    ],
)
def test_protocol_file_refusals_name_the_field(
    name: str, path: str, value: object, field: str
) -> None:
    with pytest.raises(ProtocolError) as err:
        parse_protocol(_set(raw(name), path, value), "test.json")
    assert err.value.field == field, str(err.value)


def test_protocol_that_is_not_an_object_and_unknown_variant() -> None:
    with pytest.raises(ProtocolError) as err:
        parse_protocol([1, 2], "test.json")
    assert err.value.field == "(top level)"
    with pytest.raises(ProtocolError, match="unknown variant 'age-12'"):
        builtin_protocols()[ESK].variant("age-12")


def test_override_names_the_clinician() -> None:
    with pytest.raises(InvalidAnswer) as err:
        Override(" ", "tolerability")
    assert err.value.field == "override.clinician"


def test_ideal_weight_refusals_and_the_wrong_protocol_kind() -> None:
    with pytest.raises(InvalidAnswer) as err:
        ideal_body_weight(250.0, "male", "ideal")
    assert err.value.field == "height_cm" and "DOSE-WEIGHT-HEIGHT" in str(err.value)
    with pytest.raises(InvalidAnswer) as err:
        ideal_body_weight(170.0, "x", "ideal")
    assert err.value.field == "sex"
    p = builtin_protocols()
    with pytest.raises(InvalidAnswer, match="not a mg/kg"):
        iv_ketamine_dose(p[ESK], 70.0)
    with pytest.raises(InvalidAnswer, match="not a fixed-step"):
        esketamine_dose(p[IV])


def test_ideal_weight_above_actual_is_capped_with_a_reason() -> None:
    # Devine IBW of a 190 cm man is 84.0 kg (50 + 2.3 x 14.8 in); a 60 kg patient doses on 60.
    d = iv_ketamine_dose(
        builtin_protocols()[IV], 60.0, weight_basis="ideal", height_cm=190.0, sex="male"
    )
    assert d.dosing_weight_kg == pytest.approx(60.0)
    assert {r.rule_id for r in d.reasons} >= {"DOSE-WEIGHT-BASIS", "DOSE-WEIGHT-CAP"}


def test_esketamine_above_the_ceiling_is_a_problem() -> None:
    # A variant's steps are its own; the protocol ceiling (84 mg) still applies to them.
    proto = parse_protocol(_set(raw(ESK), "variants.0.steps_mg", [28, 56, 84, 112]), "test.json")
    d = esketamine_dose(
        proto, 112, [56, 84], variant="age-65-plus", override=Override("Dr A", "trial protocol")
    )
    assert "DOSE-CEILING" in {r.rule_id for r in d.reasons}


def test_esketamine_first_dose_below_the_start_needs_a_reason() -> None:
    mdsi = builtin_protocols()["esketamine-mdsi"]
    d = esketamine_dose(mdsi, 56, override=Override("Dr A", "nausea at 84 mg elsewhere"))
    assert "DOSE-START-REDUCED" in {r.rule_id for r in d.reasons}


def test_plan_label_of_an_ideal_weight_protocol() -> None:
    proto = parse_protocol(
        _set(raw(IV), "dose.weight_basis", "ideal") | {"id": "iv-ideal"}, "test.json"
    )
    s = plan_course(proto, MONDAY)
    assert "ideal body weight [U]" in s.sessions[0].dose_label


def test_schedule_refusals() -> None:
    iv = builtin_protocols()[IV]
    with pytest.raises(ScheduleError) as err:
        plan_course(iv, MONDAY, ScheduleConstraints(min_spacing_hours=-1))
    assert err.value.field == "min_spacing_hours"
    with pytest.raises(ScheduleError) as err:
        plan_course(iv, MONDAY, ScheduleConstraints(weekdays=frozenset()))
    assert err.value.field == "weekdays"
    with pytest.raises(ScheduleError, match="no allowed day found"):
        plan_course(iv, MONDAY, ScheduleConstraints(closures=frozenset(), horizon_days=3))


def test_an_interval_session_pushed_too_late_is_refused() -> None:
    esk = builtin_protocols()[ESK]
    first = plan_course(esk, MONDAY)
    weekly = [s.day for s in first.sessions if s.phase == "maintenance-weekly"]
    closed = frozenset(weekly[1] + timedelta(days=k) for k in range(2))
    with pytest.raises(ScheduleError, match="days late"):
        plan_course(esk, MONDAY, ScheduleConstraints(closures=closed, max_interval_delay_days=0))


def test_phase_frequency_of_no_days_and_reschedule_refusals() -> None:
    esk = builtin_protocols()[ESK]
    check_phase_frequency(esk, [], ScheduleConstraints())  # nothing placed: nothing to refuse
    s = plan_course(esk, MONDAY)
    with pytest.raises(ScheduleError) as err:
        reschedule_missed(s, esk, len(s.sessions) + 1, MONDAY + timedelta(days=30))
    assert err.value.field == "session_number"
    with pytest.raises(ScheduleError) as err:
        reschedule_missed(s, builtin_protocols()[IV], 2, MONDAY + timedelta(days=30))
    assert err.value.field == "protocol"


def test_calendar_with_clinic_time_and_location() -> None:
    s = plan_course(builtin_protocols()[IV], MONDAY)
    text = schedule_to_ics(
        s,
        datetime(2025, 3, 1, tzinfo=UTC),
        start_time=time(9, 0),
        tz=ZoneInfo("America/New_York"),
        location="Room 2, 1 Main St",
    )
    assert "DTSTART:20250303T140000Z" in text  # 09:00 EST is 14:00 UTC
    assert "LOCATION:Room 2\\, 1 Main St" in text


@pytest.mark.parametrize(
    ("value", "refused"),
    [
        (EARLIEST, False),
        (LATEST, False),
        (EARLIEST - timedelta(days=1), True),
        (LATEST + timedelta(days=1), True),
        (datetime(2024, 5, 1, 12, tzinfo=UTC), False),
        (datetime(2024, 5, 1, 12), False),
        (datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=14))), True),
    ],
)
def test_the_one_date_range(value: date, refused: bool) -> None:
    assert (out_of_range(value) is not None) == refused
