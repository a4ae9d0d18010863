"""Course calendars: sessions from a protocol and a start date, under clinic constraints.

Constraints (:class:`ScheduleConstraints`): allowed weekdays, clinic closure dates and a
minimum spacing between sessions (default the protocol's, 48 h for IV ketamine [U]). Sessions
are whole days, so a spacing of H hours means at least ``ceil(H / 24)`` days apart.

Placement, session by session, earliest feasible day first:

* *per-week* phase: at most ``per_week`` sessions in each 7-day window counted from the
  phase's first session, aiming for an even gap of ``7 // per_week`` days, all within
  ``max_span_days`` of the phase start when set (e.g. 6 infusions within 21 days);
* *interval* phase: ``interval_days`` after the previous session, moved to the next allowed
  day if needed.

:func:`reschedule_missed` keeps earlier sessions, moves the missed one to the first feasible
day on or after a date and re-plans the rest under the same constraints. Infeasible plans raise
:class:`ScheduleError` naming the constraint.

A plan never reshapes a protocol phase silently (rule ``SCHED-PHASE-FREQUENCY``; the label's
"twice weekly, weeks 1-4" must not become 8 weekly doses): :func:`plan_course` refuses, with
field ``weekdays``, a *per-week* phase whose sessions do not fit in ``ceil(sessions /
required) x 7`` days from its first session (``required`` = ``per_week_min`` or ``per_week``),
and an *interval* phase in which a session falls more than
``ScheduleConstraints.max_interval_delay_days`` (default 3 [U], ketacare policy) after its due
day. The clinic must allow more weekdays (or choose another protocol). Sources: SPRAVATO US PI
dosing table (clinical.md §5.2); the IV protocols' own sources (clinical.md §5.1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Final

from ketacare.domain.course.dosing import iv_ketamine_dose
from ketacare.domain.course.protocols.model import Phase, Protocol
from ketacare.domain.errors import DomainError

WEEKDAY_NAMES: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleError(DomainError):
    """No date satisfies the constraints; ``field`` names the constraint."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class ScheduleConstraints:
    """Clinic constraints.

    Attributes
    ----------
    weekdays : frozenset of int
        Allowed weekdays, 0 = Monday; default Monday-Friday.
    closures : frozenset of date
        Days the clinic is closed.
    min_spacing_hours : float, optional
        [U] Minimum hours between sessions; ``None`` uses the protocol's (48 h default).
    horizon_days : int
        Give up searching after this many days from the start; default 730.
    max_interval_delay_days : int
        [U] How many days an interval-phase session may fall after its due day (a closure or
        weekday shift) before the plan is refused as reshaping the phase; default 3.
    """

    weekdays: frozenset[int] = frozenset(range(5))
    closures: frozenset[date] = frozenset()
    min_spacing_hours: float | None = None
    horizon_days: int = 730
    max_interval_delay_days: int = 3


@dataclass(frozen=True, slots=True)
class Session:
    """One planned session: 1-based ``number``, ``day``, ``phase`` and planned dose."""

    number: int
    day: date
    phase: str
    planned_dose_mg: float | None
    dose_label: str


@dataclass(frozen=True, slots=True)
class Schedule:
    """A planned course."""

    protocol_id: str
    protocol_version: str
    start: date
    sessions: tuple[Session, ...]


def parse_weekdays(text: str) -> frozenset[int]:
    """Parse ``"mon,wed,fri"`` into weekday numbers (0 = Monday).

    Examples
    --------
    >>> sorted(parse_weekdays("mon, wed,FRI"))
    [0, 2, 4]
    """
    out: set[int] = set()
    for part in text.split(","):
        name = part.strip().lower()[:3]
        if name not in WEEKDAY_NAMES:
            raise ScheduleError("weekdays", f"unknown day {part.strip()!r}; use mon,tue,...,sun")
        out.add(WEEKDAY_NAMES.index(name))
    return frozenset(out)


@dataclass(frozen=True, slots=True)
class Patient:
    """What the dose of a mg/kg protocol needs: actual weight, and height and sex for the
    ideal or adjusted weight bases (``None`` when unknown)."""

    weight_kg: float | None = None
    height_cm: float | None = None
    sex: str | None = None


def _dose_plan(
    protocol: Protocol, patient: Patient, variant: str | None
) -> tuple[float | None, str, float | None, str]:
    """Return (first dose, its label, later dose, its label).

    IV doses go through :func:`iv_ketamine_dose` with the protocol's weight basis, so the
    height range, the cap at actual weight and both ceiling checks apply to plans too.
    """
    rule = protocol.dose
    if rule.kind == "per_kg":
        label = f"{rule.mg_per_kg:g} mg/kg"
        if rule.weight_basis != "actual":
            label += f" of {rule.weight_basis} body weight [U]"
        if patient.weight_kg is None:
            return None, label, None, label
        d = iv_ketamine_dose(
            protocol, patient.weight_kg, height_cm=patient.height_cm, sex=patient.sex
        )
        mg = d.dose_mg
        capped = any(r.rule_id == "DOSE-WEIGHT-CAP" for r in d.reasons)
        text = f"{label} ({mg:g} mg{'; actual weight used' if capped else ''})"
        return mg, text, mg, text
    steps, start = rule.steps_mg, rule.start_mg
    if variant is not None:
        v = protocol.variant(variant)
        steps, start = v.steps_mg, v.start_mg or start
    options = " or ".join(f"{s}" for s in steps)
    return float(start or 0), f"{start} mg", float(start or 0), f"{start} mg ({options} mg)"


def _place(
    protocol: Protocol,
    cons: ScheduleConstraints,
    start: date,
    fixed: list[date],
    not_before: date | None,
) -> list[date]:
    spacing_h = (
        protocol.min_spacing_hours if cons.min_spacing_hours is None else cons.min_spacing_hours
    )
    if spacing_h < 0:
        raise ScheduleError("min_spacing_hours", "must not be negative")
    if not cons.weekdays:
        raise ScheduleError("weekdays", "at least one weekday must be allowed")
    spacing = timedelta(days=math.ceil(spacing_h / 24))
    limit = start + timedelta(days=cons.horizon_days)
    flat = [(ph, i) for ph in protocol.phases for i in range(ph.sessions)]
    days = list(fixed)
    phase_start: dict[str, date] = {}
    for (ph, _), d in zip(flat, days, strict=False):
        phase_start.setdefault(ph.name, d)
    for k in range(len(days), len(flat)):
        ph, i = flat[k]
        prev = days[-1] if days else None
        earliest = _earliest(ph, i, prev, start, spacing)
        if k == len(fixed) and not_before is not None:
            earliest = max(not_before, prev + spacing if prev else not_before)
        d = _search(ph, earliest, prev, spacing, phase_start.get(ph.name), cons, limit, days)
        phase_start.setdefault(ph.name, d)
        days.append(d)
    return days


def _earliest(ph: Phase, i: int, prev: date | None, start: date, spacing: timedelta) -> date:
    if prev is None:
        return start
    if ph.per_week is not None:
        gap = timedelta(days=7 // ph.per_week) if i > 0 else timedelta(0)
        return prev + max(spacing, gap)
    assert ph.interval_days is not None
    return prev + max(spacing, timedelta(days=ph.interval_days))


def _search(
    ph: Phase,
    earliest: date,
    prev: date | None,
    spacing: timedelta,
    p_start: date | None,
    cons: ScheduleConstraints,
    limit: date,
    days: list[date],
) -> date:
    d = earliest
    while d <= limit:
        ok = d.weekday() in cons.weekdays and d not in cons.closures
        ok = ok and (prev is None or d - prev >= spacing)
        if ok and ph.per_week is not None and p_start is not None:
            if ph.max_span_days is not None and (d - p_start).days >= ph.max_span_days:
                raise ScheduleError(
                    "max_span_days",
                    f"phase {ph.name!r}: {ph.sessions} sessions do not fit within "
                    f"{ph.max_span_days} days with the allowed weekdays, closures and spacing",
                )
            week = (d - p_start).days // 7
            in_week = sum(1 for x in days if x >= p_start and (x - p_start).days // 7 == week)
            ok = in_week < ph.per_week
        if ok:
            return d
        d += timedelta(days=1)
    raise ScheduleError("weekdays", f"no allowed day found before {limit.isoformat()}")


def _weekday_text(cons: ScheduleConstraints) -> str:
    days = ",".join(WEEKDAY_NAMES[d] for d in sorted(cons.weekdays))
    return days + (f" and {len(cons.closures)} closure day(s)" if cons.closures else "")


def check_phase_frequency(protocol: Protocol, days: list[date], cons: ScheduleConstraints) -> None:
    """Refuse a plan that stretches a phase beyond its protocol frequency (field ``weekdays``).

    Raises
    ------
    ScheduleError
        ``weekdays``: naming the phase, what the protocol asks and the allowed weekdays.
    """
    k = 0
    prev: date | None = None
    for ph in protocol.phases:
        mine = days[k : k + ph.sessions]
        k += ph.sessions
        if not mine:
            break
        if ph.per_week is not None:
            required = ph.per_week_min or ph.per_week
            window = math.ceil(ph.sessions / required) * 7
            span = (mine[-1] - mine[0]).days
            if len(mine) == ph.sessions and span >= window:
                raise ScheduleError(
                    "weekdays",
                    f"phase {ph.name!r} of {protocol.id} needs at least {required} sessions a "
                    f"week ({ph.sessions} sessions within {window} days), but with weekdays "
                    f"{_weekday_text(cons)} they would span {span + 1} days; allow more weekdays "
                    "(the protocol phase is never reshaped silently)",
                )
        else:
            assert ph.interval_days is not None
            for d in mine:
                if prev is not None:
                    late = (d - prev).days - ph.interval_days
                    if late > cons.max_interval_delay_days:
                        raise ScheduleError(
                            "weekdays",
                            f"phase {ph.name!r} of {protocol.id} is every {ph.interval_days} "
                            f"days, but with weekdays {_weekday_text(cons)} a session falls "
                            f"{late} days late (on {d.isoformat()}); allow more weekdays (the "
                            "protocol phase is never reshaped silently)",
                        )
                prev = d
        prev = mine[-1]


def _sessions(
    protocol: Protocol, days: list[date], patient: Patient, variant: str | None
) -> tuple[Session, ...]:
    first_mg, first_label, later_mg, later_label = _dose_plan(protocol, patient, variant)
    names = [ph.name for ph in protocol.phases for _ in range(ph.sessions)]
    return tuple(
        Session(
            n + 1,
            d,
            names[n],
            first_mg if n == 0 else later_mg,
            first_label if n == 0 else later_label,
        )
        for n, d in enumerate(days)
    )


def plan_course(
    protocol: Protocol,
    start: date,
    constraints: ScheduleConstraints = ScheduleConstraints(),
    *,
    weight_kg: float | None = None,
    variant: str | None = None,
    height_cm: float | None = None,
    sex: str | None = None,
) -> Schedule:
    """Plan every session of ``protocol`` from ``start`` (first session on or after it).

    Examples
    --------
    >>> from ketacare.domain.course.protocols import builtin_protocols
    >>> p = builtin_protocols()["iv-ketamine-induction"]
    >>> s = plan_course(p, date(2025, 3, 3), ScheduleConstraints(parse_weekdays("mon,wed,fri")))
    >>> [x.day.isoformat() for x in s.sessions][:4]
    ['2025-03-03', '2025-03-05', '2025-03-07', '2025-03-10']
    """
    if variant is not None:
        protocol.variant(variant)  # unknown variant -> ProtocolError
    days = _place(protocol, constraints, start, [], None)
    check_phase_frequency(protocol, days, constraints)
    patient = Patient(weight_kg, height_cm, sex)
    return Schedule(
        protocol.id, protocol.version, start, _sessions(protocol, days, patient, variant)
    )


def reschedule_missed(
    schedule: Schedule,
    protocol: Protocol,
    session_number: int,
    not_before: date,
    constraints: ScheduleConstraints = ScheduleConstraints(),
    *,
    weight_kg: float | None = None,
    variant: str | None = None,
    height_cm: float | None = None,
    sex: str | None = None,
) -> Schedule:
    """Move missed session ``session_number`` to the first feasible day >= ``not_before``.

    Earlier sessions stay; later ones are re-planned under the same constraints.
    """
    if not 1 <= session_number <= len(schedule.sessions):
        raise ScheduleError("session_number", f"must be from 1 to {len(schedule.sessions)}")
    if schedule.protocol_id != protocol.id:
        raise ScheduleError("protocol", "schedule and protocol differ")
    fixed = [s.day for s in schedule.sessions[: session_number - 1]]
    days = _place(protocol, constraints, schedule.start, fixed, not_before)
    patient = Patient(weight_kg, height_cm, sex)
    return replace(schedule, sessions=_sessions(protocol, days, patient, variant))
