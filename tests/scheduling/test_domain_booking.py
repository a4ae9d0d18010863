"""Floor rules and the slot finder (domain/course/booking.py) at their edges, with a fixed clock."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ketacare.domain.course.booking import (
    BookingError,
    Busy,
    ChairTime,
    CourseRequest,
    Floor,
    FloorRules,
    Kind,
    Shift,
    StaffRole,
    Window,
    check,
    day_slots,
    find_course,
    first_slot,
    shift_later,
)
from ketacare.domain.errors import DomainError

NY = "America/New_York"
TZ = ZoneInfo(NY)
RULES = FloorRules()
MON = date(2026, 3, 2)  # a Monday
HOURS = {d: (time(8, 0), time(18, 0)) for d in range(5)}


def at(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), tzinfo=TZ).astimezone(UTC)


def staffed(
    day: date, nurses: int = 1, prescriber: bool = True, days: int = 1
) -> tuple[Shift, ...]:
    out = []
    for d in range(days):
        dd = day + timedelta(days=d)
        out += [Shift(100 + n, StaffRole.nurse, at(dd, 8), at(dd, 18)) for n in range(nurses)]
        if prescriber:
            out.append(Shift(1, StaffRole.prescriber, at(dd, 8), at(dd, 18)))
    return tuple(out)


def floor(**kw: object) -> Floor:
    base: dict[str, object] = {
        "tz": NY,
        "hours": HOURS,
        "chairs": (1, 2, 3),
        "shifts": staffed(MON, 2, days=40),
        "rems_certified": True,
    }
    base.update(kw)
    return Floor(**base)  # type: ignore[arg-type]


def test_chair_time_defaults_and_esketamine_floor() -> None:
    assert RULES.iv.total_min == 125
    assert RULES.esketamine.total_min == 160
    with pytest.raises(DomainError, match="120"):
        FloorRules(esketamine=ChairTime(15, 15, 119, 10))


def test_hours_edges() -> None:
    f = floor()
    # IV chair time 125 min: 15:55 ends 18:00 exactly (allowed), 16:00 ends 18:05 (refused).
    assert check(f, RULES, Kind.iv, 7, 1, at(MON, 15, 55)) is None
    refusal = check(f, RULES, Kind.iv, 7, 1, at(MON, 16, 0))
    assert refusal is not None and refusal.rule == "BOOK-HOURS"
    assert check(f, RULES, Kind.iv, 7, 1, at(MON, 7, 59)).rule == "BOOK-HOURS"  # type: ignore[union-attr]
    saturday = MON + timedelta(days=5)
    assert check(f, RULES, Kind.iv, 7, 1, at(saturday, 9)).rule == "BOOK-HOURS"  # type: ignore[union-attr]


def test_closure_day_refused() -> None:
    f = floor(closures=frozenset({MON}))
    assert check(f, RULES, Kind.iv, 7, 1, at(MON, 9)).rule == "BOOK-CLOSURE"  # type: ignore[union-attr]
    assert day_slots(f, RULES, Kind.iv, 7, MON) == []


def test_chair_and_patient_overlap_edges() -> None:
    busy = Busy(1, 8, at(MON, 9), at(MON, 9) + timedelta(minutes=125))
    f = floor(bookings=(busy,))
    assert check(f, RULES, Kind.iv, 7, 1, at(MON, 9, 15)).rule == "BOOK-CHAIR"  # type: ignore[union-attr]
    # Touching ranges do not overlap: the next booking may start when the last one ends.
    assert check(f, RULES, Kind.iv, 7, 1, busy.end) is None
    assert check(f, RULES, Kind.iv, 8, 2, at(MON, 10)).rule == "BOOK-PATIENT"  # type: ignore[union-attr]
    assert check(f, RULES, Kind.iv, 8, 2, busy.end) is None


def test_nurse_ratio_edge() -> None:
    rules = FloorRules(nurse_ratio=2)
    one_nurse = (Shift(100, StaffRole.nurse, at(MON, 8), at(MON, 18)),)
    b = (Busy(1, 1, at(MON, 9), at(MON, 11, 5)),)
    f = floor(chairs=(1, 2, 3), shifts=one_nurse, bookings=b)
    assert check(f, rules, Kind.iv, 7, 2, at(MON, 9)) is None  # 2 patients, 1 nurse x 2
    f2 = f.with_booking(Busy(2, 2, at(MON, 9), at(MON, 11, 5)))
    refusal = check(f2, rules, Kind.iv, 7, 3, at(MON, 10))
    assert refusal is not None and refusal.rule == "BOOK-NURSE-RATIO"
    assert check(f2, rules, Kind.iv, 7, 3, at(MON, 11, 5)) is None  # both have left
    # A second nurse arriving at 10:00 covers a 10:00 start but not 09:30.
    two = (*one_nurse, Shift(101, StaffRole.nurse, at(MON, 10), at(MON, 18)))
    f3 = floor(chairs=(1, 2, 3), shifts=two, bookings=f2.bookings)
    assert check(f3, rules, Kind.iv, 7, 3, at(MON, 10)) is None
    assert check(f3, rules, Kind.iv, 7, 3, at(MON, 9, 30)).rule == "BOOK-NURSE-RATIO"  # type: ignore[union-attr]
    # No nurse on shift: nothing can be booked.
    assert check(floor(shifts=()), RULES, Kind.iv, 7, 1, at(MON, 9)).rule == "BOOK-NURSE-RATIO"  # type: ignore[union-attr]


def test_prescriber_presence_for_esketamine_only() -> None:
    nurse = Shift(100, StaffRole.nurse, at(MON, 8), at(MON, 18))
    # Prescriber leaves at 12:00: a 09:00 esketamine booking (ends 11:40) passes, 09:30 does not.
    pres = Shift(1, StaffRole.prescriber, at(MON, 8), at(MON, 12))
    f = floor(shifts=(nurse, pres))
    assert check(f, RULES, Kind.esketamine, 7, 1, at(MON, 9)) is None
    r = check(f, RULES, Kind.esketamine, 7, 1, at(MON, 9, 30))
    assert r is not None and r.rule == "BOOK-PRESCRIBER" and "REMS" in r.source
    assert check(f, RULES, Kind.iv, 7, 1, at(MON, 13)) is None  # IV needs no prescriber
    # Two back-to-back prescriber shifts cover without a gap; a 1-minute gap does not.
    a = Shift(1, StaffRole.prescriber, at(MON, 8), at(MON, 10))
    b = Shift(2, StaffRole.prescriber, at(MON, 10), at(MON, 18))
    assert check(floor(shifts=(nurse, a, b)), RULES, Kind.esketamine, 7, 1, at(MON, 9)) is None
    b2 = Shift(2, StaffRole.prescriber, at(MON, 10, 1), at(MON, 18))
    gap = check(floor(shifts=(nurse, a, b2)), RULES, Kind.esketamine, 7, 1, at(MON, 9))
    assert gap is not None and gap.rule == "BOOK-PRESCRIBER"
    uncertified = check(floor(rems_certified=False), RULES, Kind.esketamine, 7, 1, at(MON, 9))
    assert uncertified is not None and "certified" in uncertified.reason


def test_dst_change_days_keep_local_hours() -> None:
    spring = date(2026, 3, 8)  # Sunday; US clocks go forward at 02:00
    autumn = date(2026, 11, 1)  # Sunday; back at 02:00
    hours = {6: (time(8, 0), time(18, 0))}
    for day in (spring, autumn):
        shifts = (Shift(1, StaffRole.nurse, at(day, 8), at(day, 18)),)
        f = Floor(NY, hours, (1,), shifts=shifts)
        slots = day_slots(f, RULES, Kind.iv, 7, day)
        assert slots[0].start.astimezone(TZ).time() == time(8, 0)
        assert slots[-1].end.astimezone(TZ).time() <= time(18, 0)
        assert slots[-1].start.astimezone(TZ).time() == time(15, 45)
        assert all(s.end - s.start == timedelta(minutes=125) for s in slots)
    # A course across the spring change keeps its 09:00 local time.
    sat = date(2026, 3, 7)
    f = Floor(
        NY,
        {5: (time(8), time(18)), 6: (time(8), time(18)), 0: (time(8), time(18))},
        (1,),
        shifts=staffed(sat, 1, days=3),
    )
    w = Window(earliest=time(9, 0))
    course = find_course(
        f, RULES, CourseRequest(Kind.iv, 7, (sat, sat + timedelta(days=2)), 24.0, w)
    )
    assert [s.start.astimezone(TZ).time() for s in course] == [time(9), time(9)]
    assert course[1].start - course[0].start == timedelta(hours=47)  # 47 real hours


def test_course_spacing_and_weekdays() -> None:
    targets = tuple(MON + timedelta(days=d) for d in (0, 2, 4, 7, 9, 11))
    w = Window(weekdays=frozenset({0, 2, 4}), earliest=time(10))
    course = find_course(floor(), RULES, CourseRequest(Kind.iv, 7, targets, 48.0, w))
    assert [s.start.astimezone(TZ).date() for s in course] == list(targets)
    assert all(s.start.astimezone(TZ).time() == time(10) for s in course)
    # A closure moves a session to the next allowed day, and the spacing pushes the next one.
    f = floor(closures=frozenset({MON + timedelta(days=2)}))
    course = find_course(
        f, RULES, CourseRequest(Kind.iv, 7, targets, 48.0, Window(earliest=time(10)))
    )
    days = [s.start.astimezone(TZ).date() for s in course]
    assert days[1] == MON + timedelta(days=3) and days[2] == MON + timedelta(days=5) + timedelta(
        days=2
    )
    for a, b in itertools.pairwise(course):
        assert b.start - a.start >= timedelta(hours=48)


def test_course_refused_names_session_and_rule() -> None:
    targets = (MON, MON + timedelta(days=2))
    f = floor(closures=frozenset(MON + timedelta(days=d) for d in range(2, 9)))
    with pytest.raises(BookingError) as err:
        find_course(f, RULES, CourseRequest(Kind.iv, 7, targets, 48.0))
    assert err.value.field == "targets[1]"
    assert err.value.refusals[0].rule in {"BOOK-CLOSURE", "BOOK-HOURS"}


def test_shift_later_keeps_spacing() -> None:
    later = [at(MON + timedelta(days=2), 10), at(MON + timedelta(days=4), 10)]
    moved = at(MON + timedelta(days=1), 10)  # session 1 moved from Monday to Tuesday
    new = shift_later(floor(), RULES, Kind.iv, 7, moved, later, 48.0)
    assert [s.start.astimezone(TZ).date() for s in new] == [
        MON + timedelta(days=3),
        MON + timedelta(days=7),
    ]
    assert new[0].start - moved >= timedelta(hours=48)
    assert new[1].start - new[0].start >= timedelta(hours=48)


def test_first_slot_prefers_time() -> None:
    slot, _ = first_slot(floor(), RULES, Kind.iv, 7, MON, prefer=time(13, 0))
    assert slot is not None and slot.start.astimezone(TZ).time() == time(13)


# --- properties -------------------------------------------------------------------------

busy_st = st.builds(
    lambda chair, patient, day, minute, length: Busy(
        chair,
        patient,
        at(MON + timedelta(days=day), 8) + timedelta(minutes=15 * minute),
        at(MON + timedelta(days=day), 8) + timedelta(minutes=15 * minute + length),
    ),
    st.integers(1, 4),
    st.integers(1, 6),
    st.integers(0, 13),
    st.integers(0, 40),
    st.sampled_from([125, 160]),
)
shift_st = st.builds(
    lambda role, day, h0, dur: Shift(
        0,
        role,
        at(MON + timedelta(days=day), h0),
        at(MON + timedelta(days=day), h0) + timedelta(hours=dur),
    ),
    st.sampled_from(list(StaffRole)),
    st.integers(0, 13),
    st.integers(7, 14),
    st.integers(1, 10),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    bookings=st.lists(busy_st, max_size=12),
    shifts=st.lists(shift_st, min_size=1, max_size=10),
    kind=st.sampled_from(list(Kind)),
    ratio=st.integers(1, 4),
    closures=st.sets(st.integers(0, 13), max_size=3),
    spacing=st.sampled_from([24.0, 48.0, 72.0, 168.0]),
    weekdays=st.sets(st.integers(0, 6), min_size=1),
    n=st.integers(1, 6),
)
def test_course_slots_obey_every_rule(
    bookings: list[Busy],
    shifts: list[Shift],
    kind: Kind,
    ratio: int,
    closures: set[int],
    spacing: float,
    weekdays: set[int],
    n: int,
) -> None:
    rules = FloorRules(nurse_ratio=ratio)
    f = Floor(
        NY,
        HOURS,
        (1, 2, 3, 4),
        frozenset(MON + timedelta(days=c) for c in closures),
        tuple(shifts),
        tuple(bookings),
        rems_certified=True,
    )
    targets = tuple(MON + timedelta(days=2 * i) for i in range(n))
    request = CourseRequest(kind, 99, targets, spacing, Window(weekdays=frozenset(weekdays)))
    refused: BookingError | None
    try:
        course = find_course(f, rules, request)
    except BookingError as err:
        refused = err
    else:
        refused = None
    if refused is not None:
        assert refused.field.startswith("targets[")
        assert refused.refusals
        return
    assert len(course) == n
    placed = f
    for slot, target in zip(course, targets, strict=True):
        day = slot.start.astimezone(TZ).date()
        assert day.weekday() in weekdays and day not in f.closures
        assert (day - target).days >= 0 or slot is course[0]
        # Every rule holds against the floor plus the earlier sessions of the course.
        assert check(placed, rules, kind, 99, slot.chair_id, slot.start) is None
        for other in placed.bookings:
            if other.start < slot.end and slot.start < other.end:
                assert other.chair_id != slot.chair_id and other.patient_id != 99
        placed = placed.with_booking(Busy(slot.chair_id, 99, slot.start, slot.end, kind))
    for a, b in itertools.pairwise(course):
        assert b.start - a.start >= timedelta(hours=spacing)


def test_course_never_starts_before_now() -> None:
    now = at(MON, 12, 5)
    request = CourseRequest(Kind.iv, 7, (MON, MON + timedelta(days=2)), 48.0, not_before=now)
    course = find_course(floor(), RULES, request)
    assert course[0].start == at(MON, 12, 15)  # the next step after now, same day
    assert course[1].start - course[0].start >= timedelta(hours=48)
