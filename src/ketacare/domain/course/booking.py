"""Treatment-floor rules and the slot finder: chairs, nurses, prescriber presence, bookings.

Pure (no I/O). The feature ``features/scheduling`` loads a :class:`Floor` (one site's hours,
closures, chairs, staff shifts and existing bookings) and asks for slots.

Rules (each returns its id, reason and source through :class:`Refusal`):

* ``BOOK-HOURS``: the whole chair time lies inside the site's opening hours of that local day
  (ketacare convention).
* ``BOOK-CLOSURE``: never on a closure day of the site (ketacare convention).
* ``BOOK-CHAIR``: a chair holds one patient at a time, chair time = set-up + administration +
  monitoring/recovery + turnover (:class:`ChairTime`; the durations are [U] clinic policy,
  except the esketamine monitoring floor of 120 min, SPRAVATO label and REMS).
* ``BOOK-PATIENT``: a patient is never booked twice at once (ketacare convention).
* ``BOOK-NURSE-RATIO``: at every instant of a booking, monitored patients <= ``nurse_ratio``
  x nurses on shift [U] (no published ratio for ketamine clinics; ASKP3 2020 leaves it to the
  setting; default 3).
* ``BOOK-PRESCRIBER``: esketamine needs a prescriber on site for the whole administration and
  monitoring (SPRAVATO REMS, outpatient setting requirements, 12/2024 objective) and a
  REMS-certified site.

Times are aware datetimes; chair time is measured in real (UTC) minutes, opening hours in the
site's wall-clock time, so a day on which daylight saving time changes keeps its local hours.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from ketacare.domain.errors import DomainError

SOURCE_REMS: Final = "SPRAVATO REMS (outpatient settings; REMS objective 12/31/2024); US PI"
SOURCE_POLICY: Final = "ketacare convention"
SOURCE_UNSETTLED: Final = "clinic policy [U]; no published standard"


class StaffRole(enum.StrEnum):
    """What a shift counts as on the floor."""

    prescriber = "prescriber"
    nurse = "nurse"
    other = "other"


class Kind(enum.StrEnum):
    """What a booking is for (its chair time and staffing rules)."""

    iv = "iv"
    esketamine = "esketamine"


@dataclass(frozen=True, slots=True)
class ChairTime:
    """Minutes a chair is held for one treatment, in order.

    ``setup_min`` (check-in, vitals, line or device set-up), ``treatment_min`` (infusion or
    administration), ``monitoring_min`` (recovery or post-dose monitoring), ``turnover_min``
    (cleaning before the next patient).
    """

    setup_min: int
    treatment_min: int
    monitoring_min: int
    turnover_min: int = 0

    @property
    def total_min(self) -> int:
        """The whole chair time in minutes."""
        return self.setup_min + self.treatment_min + self.monitoring_min + self.turnover_min


@dataclass(frozen=True, slots=True)
class FloorRules:
    """A clinic's floor rules (frozen; defaults documented in docs/scheduling.md).

    Attributes
    ----------
    iv : ChairTime
        IV racemic ketamine: 15 min set-up [U], 40 min infusion (0.5 mg/kg over 40 min,
        clinical.md 5.1), 60 min recovery [U], 10 min turnover [U].
    esketamine : ChairTime
        Esketamine: 15 min set-up [U], 15 min administration (2-3 devices 5 min apart), 120
        min monitoring (label and REMS minimum; never lower), 10 min turnover [U].
    nurse_ratio : int
        [U] Monitored patients per nurse on shift; default 3.
    step_min : int
        Granularity of offered start times in minutes; default 15.
    """

    iv: ChairTime = ChairTime(15, 40, 60, 10)
    esketamine: ChairTime = ChairTime(15, 15, 120, 10)
    nurse_ratio: int = 3
    step_min: int = 15

    def __post_init__(self) -> None:
        if self.esketamine.monitoring_min < 120:
            raise DomainError("esketamine monitoring_min: the label requires at least 120 min")
        if self.nurse_ratio < 1:
            raise DomainError("nurse_ratio: must be 1 or more")
        if not 5 <= self.step_min <= 120:
            raise DomainError("step_min: must be 5..120")

    def chair_time(self, kind: Kind) -> ChairTime:
        """The chair time of ``kind``."""
        return self.iv if kind is Kind.iv else self.esketamine

    def needs_prescriber(self, kind: Kind) -> bool:
        """REMS: esketamine administration and monitoring need a prescriber on site."""
        return kind is Kind.esketamine


@dataclass(frozen=True, slots=True)
class Shift:
    """A staff member on site from ``start`` to ``end`` (aware)."""

    staff_id: int
    role: StaffRole
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Busy:
    """An existing booking: ``chair_id`` and ``patient_id`` held from ``start`` to ``end``."""

    chair_id: int
    patient_id: int
    start: datetime
    end: datetime
    kind: Kind = Kind.iv


@dataclass(frozen=True, slots=True)
class Floor:
    """One site: wall-clock ``hours`` per weekday (0 = Monday; absent = closed), closure
    days, chairs, shifts and bookings, in the site's time zone ``tz``."""

    tz: str
    hours: dict[int, tuple[time, time]]
    chairs: tuple[int, ...]
    closures: frozenset[date] = frozenset()
    shifts: tuple[Shift, ...] = ()
    bookings: tuple[Busy, ...] = ()
    rems_certified: bool = False

    def with_booking(self, busy: Busy) -> Floor:
        """This floor with one more booking."""
        return replace(self, bookings=(*self.bookings, busy))


@dataclass(frozen=True, slots=True)
class Slot:
    """A bookable chair time."""

    chair_id: int
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a slot or a course cannot be booked: rule id, reason, source."""

    rule: str
    reason: str
    source: str


class BookingError(DomainError):
    """No slot satisfies the rules; ``refusals`` says which rules refused (first = nearest)."""

    def __init__(self, field: str, refusals: Sequence[Refusal]) -> None:
        text = "; ".join(f"{r.rule}: {r.reason}" for r in refusals[:3]) or "no slot"
        super().__init__(f"{field}: {text}")
        self.field = field
        self.refusals = tuple(refusals)


@dataclass(frozen=True, slots=True)
class Window:
    """When the patient can come: allowed weekdays and a local time-of-day window."""

    weekdays: frozenset[int] = frozenset(range(7))
    earliest: time = time(0, 0)
    latest_start: time = time(23, 59)


def _overlaps(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> bool:
    return a0 < b1 and b0 < a1


def _covered(shifts: Iterable[Shift], start: datetime, end: datetime) -> bool:
    """Shifts (any staff) cover [start, end) without a gap."""
    cursor = start
    for shift in sorted(shifts, key=lambda s: s.start):
        if shift.start > cursor:
            break
        cursor = max(cursor, shift.end)
        if cursor >= end:
            return True
    return cursor >= end


def check(
    floor: Floor,
    rules: FloorRules,
    kind: Kind,
    patient_id: int,
    chair_id: int,
    start: datetime,
) -> Refusal | None:
    """The first rule that refuses booking ``chair_id`` at ``start`` for ``patient_id``.

    None when every rule passes (hours, closure, chair, patient, prescriber, nurse ratio).
    """
    tz = ZoneInfo(floor.tz)
    end = start + timedelta(minutes=rules.chair_time(kind).total_min)
    local_start = start.astimezone(tz)
    day = local_start.date()
    if day in floor.closures:
        return Refusal("BOOK-CLOSURE", f"the site is closed on {day.isoformat()}", SOURCE_POLICY)
    hours = floor.hours.get(day.weekday())
    if hours is None:
        return Refusal("BOOK-HOURS", "the site is closed on this weekday", SOURCE_POLICY)
    opens = datetime.combine(day, hours[0], tzinfo=tz).astimezone(UTC)
    closes = datetime.combine(day, hours[1], tzinfo=tz).astimezone(UTC)
    if start < opens or end > closes:
        return Refusal("BOOK-HOURS", "the chair time is outside opening hours", SOURCE_POLICY)
    if chair_id not in floor.chairs:
        return Refusal("BOOK-CHAIR", "no such chair at this site", SOURCE_POLICY)
    concurrent = 0
    for busy in floor.bookings:
        if not _overlaps(start, end, busy.start, busy.end):
            continue
        if busy.chair_id == chair_id:
            return Refusal("BOOK-CHAIR", "the chair is booked then", SOURCE_POLICY)
        if busy.patient_id == patient_id:
            return Refusal("BOOK-PATIENT", "the patient has another booking then", SOURCE_POLICY)
        concurrent += 1
    if rules.needs_prescriber(kind):
        if not floor.rems_certified:
            return Refusal("BOOK-PRESCRIBER", "the site is not REMS-certified", SOURCE_REMS)
        prescribers = [s for s in floor.shifts if s.role is StaffRole.prescriber]
        if not _covered(prescribers, start, end):
            return Refusal(
                "BOOK-PRESCRIBER",
                "no prescriber on site for the whole administration and monitoring",
                SOURCE_REMS,
            )
    if not _ratio_ok(floor, rules, start, end, concurrent):
        return Refusal(
            "BOOK-NURSE-RATIO",
            f"more than {rules.nurse_ratio} monitored patients per nurse on shift",
            SOURCE_UNSETTLED,
        )
    return None


def _ratio_ok(floor: Floor, rules: FloorRules, start: datetime, end: datetime, any_: int) -> bool:
    """At every instant of [start, end): patients (this one included) <= ratio x nurses."""
    nurses = [
        s
        for s in floor.shifts
        if s.role is StaffRole.nurse and _overlaps(s.start, s.end, start, end)
    ]
    if not nurses:
        return False
    if any_ + 1 <= rules.nurse_ratio * _min_count(nurses, start, end):
        return True  # fast path: even the fewest nurses cover everyone overlapping
    # Exact: check at every point where the count of patients or nurses changes.
    points = {start}
    for busy in floor.bookings:
        if _overlaps(start, end, busy.start, busy.end):
            points.add(max(busy.start, start))
    for shift in nurses:
        for p in (shift.start, shift.end):
            if start <= p < end:
                points.add(p)
    for p in points:
        patients = 1 + sum(1 for b in floor.bookings if b.start <= p < b.end)
        on_shift = sum(1 for s in nurses if s.start <= p < s.end)
        if patients > rules.nurse_ratio * on_shift:
            return False
    return True


def _min_count(shifts: Sequence[Shift], start: datetime, end: datetime) -> int:
    """The fewest shifts on at any instant of [start, end)."""
    points = {start} | {p for s in shifts for p in (s.start, s.end) if start <= p < end}
    return min(sum(1 for s in shifts if s.start <= p < s.end) for p in points)


def _starts(
    floor: Floor, rules: FloorRules, kind: Kind, day: date, window: Window
) -> list[datetime]:
    """Candidate starts (UTC) of one local day, every ``step_min`` from opening."""
    hours = floor.hours.get(day.weekday())
    if hours is None or day in floor.closures or day.weekday() not in window.weekdays:
        return []
    tz = ZoneInfo(floor.tz)
    opens = datetime.combine(day, max(hours[0], window.earliest), tzinfo=tz).astimezone(UTC)
    closes = datetime.combine(day, hours[1], tzinfo=tz).astimezone(UTC)
    latest = datetime.combine(day, window.latest_start, tzinfo=tz).astimezone(UTC)
    length = timedelta(minutes=rules.chair_time(kind).total_min)
    step = timedelta(minutes=rules.step_min)
    # Align to the step on the local clock (09:07 opening offers 09:15).
    minute = opens.astimezone(tz).minute % rules.step_min
    cursor = opens + (timedelta(minutes=rules.step_min - minute) if minute else timedelta())
    out = []
    while cursor + length <= closes and cursor <= latest:
        out.append(cursor)
        cursor += step
    return out


def _day_floor(floor: Floor, day: date) -> Floor:
    """``floor`` with only the bookings and shifts that touch local ``day`` (and its
    neighbours: a booking never spans more than a day), so each check scans a day, not the
    whole horizon."""
    tz = ZoneInfo(floor.tz)
    lo = datetime.combine(day - timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    hi = datetime.combine(day + timedelta(days=2), time(0), tzinfo=tz).astimezone(UTC)
    return replace(
        floor,
        bookings=tuple(b for b in floor.bookings if b.end > lo and b.start < hi),
        shifts=tuple(s for s in floor.shifts if s.end > lo and s.start < hi),
    )


def day_slots(
    floor: Floor,
    rules: FloorRules,
    kind: Kind,
    patient_id: int,
    day: date,
    window: Window = Window(),
) -> list[Slot]:
    """Every bookable (chair, start) of local ``day`` for ``patient_id``, by start then chair."""
    length = timedelta(minutes=rules.chair_time(kind).total_min)
    out = []
    floor = _day_floor(floor, day)
    for start in _starts(floor, rules, kind, day, window):
        for chair in floor.chairs:
            if check(floor, rules, kind, patient_id, chair, start) is None:
                out.append(Slot(chair, start, start + length))
    return out


def first_slot(
    floor: Floor,
    rules: FloorRules,
    kind: Kind,
    patient_id: int,
    day: date,
    window: Window = Window(),
    not_before: datetime | None = None,
    prefer: time | None = None,
) -> tuple[Slot | None, list[Refusal]]:
    """The first bookable slot of ``day`` (at or after ``not_before``), else the refusals.

    ``prefer``: a local time tried first (a course keeps its time of day where it can).
    """
    refusals: list[Refusal] = []
    if day in floor.closures:
        refusals.append(Refusal("BOOK-CLOSURE", f"closed on {day.isoformat()}", SOURCE_POLICY))
    starts = _starts(floor, rules, kind, day, window)
    floor = _day_floor(floor, day)
    if prefer is not None:
        tz = ZoneInfo(floor.tz)
        starts.sort(key=lambda s: (s.astimezone(tz).time() != prefer, s))
    length = timedelta(minutes=rules.chair_time(kind).total_min)
    for start in starts:
        if not_before is not None and start < not_before:
            continue
        for chair in floor.chairs:
            refusal = check(floor, rules, kind, patient_id, chair, start)
            if refusal is None:
                return Slot(chair, start, start + length), refusals
            if refusal not in refusals:
                refusals.append(refusal)
    return None, refusals


@dataclass(frozen=True, slots=True)
class CourseRequest:
    """A course to place: target local days (the plan's), minimum spacing, a window.

    ``max_delay_days`` [U]: how far a session may move after its target day before the
    course is refused (default 3, as ``ScheduleConstraints.max_interval_delay_days``).
    """

    kind: Kind
    patient_id: int
    targets: tuple[date, ...]
    min_spacing_hours: float = 48.0
    window: Window = field(default_factory=Window)
    max_delay_days: int = 3
    #: No session before this instant (the search's "now"); None: no bound.
    not_before: datetime | None = None


def find_course(floor: Floor, rules: FloorRules, request: CourseRequest) -> list[Slot]:
    """One slot per target day, in order, keeping ``min_spacing_hours`` between starts.

    Each session takes the first feasible slot on its target day or up to
    ``max_delay_days`` later (the first session's time of day is tried first for the
    others); earlier sessions of the course count as bookings for the later ones.
    Raises :class:`BookingError` (field ``targets[i]``) naming the refusing rules.
    """
    placed: list[Slot] = []
    spacing = timedelta(hours=request.min_spacing_hours)
    prefer: time | None = None
    tz = ZoneInfo(floor.tz)
    for index, target in enumerate(request.targets):
        not_before = placed[-1].start + spacing if placed else request.not_before
        day = target
        if not_before is not None:
            day = max(day, not_before.astimezone(tz).date())
        slot = None
        refusals: list[Refusal] = []
        for delay in range(request.max_delay_days + 1):
            candidate = day + timedelta(days=delay)
            if (candidate - target).days > request.max_delay_days:
                break
            slot, found = first_slot(
                floor,
                rules,
                request.kind,
                request.patient_id,
                candidate,
                request.window,
                not_before,
                prefer,
            )
            refusals += [r for r in found if r not in refusals]
            if slot is not None:
                break
        if slot is None:
            if not refusals:
                refusals.append(
                    Refusal(
                        "BOOK-HOURS", "no opening hours within the allowed delay", SOURCE_POLICY
                    )
                )
            raise BookingError(f"targets[{index}]", refusals)
        placed.append(slot)
        floor = floor.with_booking(
            Busy(slot.chair_id, request.patient_id, slot.start, slot.end, request.kind)
        )
        if prefer is None:
            prefer = slot.start.astimezone(tz).time()
    return placed


def shift_later(
    floor: Floor,
    rules: FloorRules,
    kind: Kind,
    patient_id: int,
    moved: datetime,
    later: Sequence[datetime],
    min_spacing_hours: float,
    window: Window = Window(),
    max_delay_days: int = 3,
) -> list[Slot]:
    """New slots for the ``later`` sessions after one moved to ``moved``, keeping spacing.

    A later session keeps its day when it is still ``min_spacing_hours`` after the one
    before; otherwise it moves to the first feasible day after. ``floor`` must not contain
    the later sessions' own bookings (they are being moved).
    """
    tz = ZoneInfo(floor.tz)
    spacing = timedelta(hours=min_spacing_hours)
    targets: list[date] = []
    previous = moved
    for start in sorted(later):
        day = max(start.astimezone(tz).date(), (previous + spacing).astimezone(tz).date())
        targets.append(day)
        previous = max(start, previous + spacing)
    request = CourseRequest(
        kind, patient_id, tuple(targets), min_spacing_hours, window, max_delay_days
    )
    # The moved session is a booking of the patient; spacing starts from it.
    anchor = Slot(-1, moved, moved + timedelta(minutes=rules.chair_time(kind).total_min))
    return _course_after(floor, rules, request, anchor)


def _course_after(
    floor: Floor, rules: FloorRules, request: CourseRequest, anchor: Slot
) -> list[Slot]:
    spacing = timedelta(hours=request.min_spacing_hours)
    tz = ZoneInfo(floor.tz)
    prefer = anchor.start.astimezone(tz).time()
    placed: list[Slot] = []
    previous = anchor.start
    for index, target in enumerate(request.targets):
        not_before = previous + spacing
        slot = None
        refusals: list[Refusal] = []
        for delay in range(request.max_delay_days + 1):
            slot, found = first_slot(
                floor,
                rules,
                request.kind,
                request.patient_id,
                target + timedelta(days=delay),
                request.window,
                not_before,
                prefer,
            )
            refusals += [r for r in found if r not in refusals]
            if slot is not None:
                break
        if slot is None:
            raise BookingError(f"later[{index}]", refusals)
        placed.append(slot)
        previous = slot.start
        floor = floor.with_booking(
            Busy(slot.chair_id, request.patient_id, slot.start, slot.end, request.kind)
        )
    return placed
