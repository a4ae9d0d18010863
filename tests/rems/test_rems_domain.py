"""The REMS gate, PMF revisions and the PMF deadline at their edges (pure domain rules)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ketacare.domain.compliance import rems_ops
from ketacare.domain.compliance.rems_ops import (
    EnrolmentFacts,
    GateConfig,
    SettingFacts,
    session_gate,
)
from ketacare.domain.sessions.safety import Reason
from ketacare.features._kit import clock


def local_day(at: datetime, tz: str) -> date:
    day = clock.local_date(at, tz)
    assert day is not None
    return day


DAY = date(2025, 3, 3)
SETTING = SettingFacts(True, DAY, "Ada Rep", "distributor", True, "outpatient")
ENROLLED = EnrolmentFacts(DAY, True, True)


def ids(reasons: list[Reason]) -> list[str]:
    return [r.rule_id for r in reasons]


def test_everything_in_place_opens_on_the_certification_and_enrolment_day() -> None:
    assert session_gate(SETTING, ENROLLED, "Dr Prescriber", DAY) == []


def test_certification_and_enrolment_count_from_their_day() -> None:
    later = SettingFacts(True, DAY + timedelta(days=1), "Ada Rep", "distributor", True)
    assert ids(session_gate(later, ENROLLED, "Dr P", DAY)) == ["rems.setting.certified"]
    enrolled_later = EnrolmentFacts(DAY + timedelta(days=1), True, True)
    assert ids(session_gate(SETTING, enrolled_later, "Dr P", DAY)) == ["rems.patient.enrolled"]
    assert session_gate(later, enrolled_later, "Dr P", DAY + timedelta(days=1)) == []


def test_every_unmet_requirement_is_listed_with_its_source() -> None:
    bare = SettingFacts(False, None, " ", "", False)
    reasons = session_gate(bare, None, None, DAY)
    assert ids(reasons) == [
        "rems.setting.certified",
        "rems.setting.authorised_representative",
        "rems.setting.acquisition_route",
        "rems.setting.pulse_oximeter",
        "rems.patient.enrolled",
        "rems.prescriber.on_site",
    ]
    assert all("REMS" in r.source for r in reasons)
    assert ids(session_gate(None, ENROLLED, "Dr P", DAY)) == ["rems.setting.registered"]


def test_enrolment_needs_both_signatures_and_a_withdrawal_ends_it() -> None:
    for facts, says in (
        (EnrolmentFacts(DAY, False, True), "signatures"),
        (EnrolmentFacts(DAY, True, False), "awaits the prescriber's countersignature"),
    ):
        reasons = session_gate(SETTING, facts, "Dr P", DAY)
        assert ids(reasons) == ["rems.patient.enrolled"]
        assert says in reasons[0].text
    withdrawn = EnrolmentFacts(DAY, True, True, revoked=True)
    assert ids(session_gate(SETTING, withdrawn, "Dr P", DAY)) == ["rems.patient.enrolled"]


def test_inpatient_settings_do_not_enrol_and_the_prescriber_rule_is_configurable() -> None:
    inpatient = SettingFacts(True, DAY, "Ada Rep", "distributor", True, "inpatient")
    assert session_gate(inpatient, None, "Dr P", DAY) == []
    strict = GateConfig(inpatient_exempt_from_enrolment=False)
    assert ids(session_gate(inpatient, None, "Dr P", DAY, strict)) == ["rems.patient.enrolled"]
    assert session_gate(SETTING, ENROLLED, None, DAY, GateConfig(require_prescriber=False)) == []
    assert ids(session_gate(SETTING, ENROLLED, "  ", DAY)) == ["rems.prescriber.on_site"]


def test_pmf_revision_is_chosen_by_the_session_date() -> None:
    assert rems_ops.pmf_revision_for(date(2024, 12, 30)).id == "2021-11"
    assert rems_ops.pmf_revision_for(date(2024, 12, 31)).id == "2024-12"
    assert rems_ops.pmf_revision_for(date(2019, 3, 5)).id == "2021-11"  # before the first
    old = {f.id for f in rems_ops.pmf_revision_for(date(2023, 1, 1)).fields}
    new = {f.id for f in rems_ops.pmf_revision_for(date(2026, 1, 1)).fields}
    assert new - old == {"first_treatment", "enrolled", "conmed_opioids", "respiratory_depression"}
    assert old < new


def test_deadline_is_seven_calendar_days_across_month_ends() -> None:
    cases = {
        date(2025, 1, 28): date(2025, 2, 4),
        date(2024, 2, 26): date(2024, 3, 4),  # leap year
        date(2025, 2, 26): date(2025, 3, 5),
        date(2025, 12, 29): date(2026, 1, 5),
    }
    for day, due in cases.items():
        assert rems_ops.pmf_deadline(day) == due
        assert rems_ops.pmf_status(day, False, due) == "due"
        assert rems_ops.pmf_status(day, False, due + timedelta(days=1)) == "overdue"
        assert rems_ops.pmf_status(day, True, due + timedelta(days=30)) == "submitted"
    assert rems_ops.pmf_deadline(date(2025, 1, 28), days=3) == date(2025, 1, 31)


def test_deadline_across_daylight_saving_changes_counts_local_calendar_days() -> None:
    ny = "America/New_York"
    # 23:30 EDT on Saturday 1 Nov 2025 is 03:30 UTC on 2 Nov; clocks go back that night.
    dosed = datetime(2025, 11, 2, 3, 30, tzinfo=UTC)
    day = local_day(dosed, ny)
    assert day == date(2025, 11, 1)
    due = rems_ops.pmf_deadline(day)
    assert due == date(2025, 11, 8)
    last_minute = datetime(2025, 11, 9, 4, 59, tzinfo=UTC)  # 23:59 EST on 8 Nov
    assert rems_ops.pmf_status(day, False, local_day(last_minute, ny)) == "due"
    after = last_minute + timedelta(minutes=1)  # 00:00 EST on 9 Nov
    assert rems_ops.pmf_status(day, False, local_day(after, ny)) == "overdue"
    # Spring forward: 00:30 EST on 8 Mar 2026 (05:30 UTC); due 15 Mar, a 23-hour day in between.
    spring = datetime(2026, 3, 8, 5, 30, tzinfo=UTC)
    day = local_day(spring, ny)
    assert day == date(2026, 3, 8)
    end_of_due_day = datetime(2026, 3, 16, 3, 59, tzinfo=UTC)  # 23:59 EDT on 15 Mar
    assert rems_ops.pmf_status(day, False, local_day(end_of_due_day, ny)) == "due"
    next_day = end_of_due_day + timedelta(minutes=1)
    assert rems_ops.pmf_status(day, False, local_day(next_day, ny)) == "overdue"


@given(
    st.dates(date(2020, 1, 1), date(2030, 12, 31)),
    st.integers(0, 40),
    st.integers(1, 30),
)
def test_status_is_due_up_to_the_deadline_day_and_overdue_after(
    day: date, offset: int, days: int
) -> None:
    today = day + timedelta(days=offset)
    expected = "due" if offset <= days else "overdue"
    assert rems_ops.pmf_status(day, False, today, days) == expected
