"""The chair board: per chair, who is in it, the phase, what is due next and when, alerts.

Read-only. The phase comes from the booking and, once a session is opened from it, from the
session's own charting rules (``sessions.state.build``: due vitals such as the BP at ~40 min,
the discharge gate); nothing here re-implements them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from ketacare.features._kit import clock
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role
from ketacare.features.scheduling import queries
from ketacare.features.scheduling.models import Booking, BookingStatus, Chair, Site
from ketacare.features.sessions import state as session_state
from ketacare.features.sessions.config import safety_config
from ketacare.features.sessions.models import TreatmentSession
from ketacare.settings import Settings

#: Phases in floor order.
PHASES = (
    "free",
    "booked",
    "checked in",
    "pre-dose checks",
    "dosing",
    "monitoring",
    "ready for discharge",
    "discharged",
)


def _phase(
    booking: Booking, s: TreatmentSession | None, st: session_state.FloorState | None, now: datetime
) -> str:
    if s is None:
        return "checked in" if booking.status is BookingStatus.checked_in else "booked"
    if s.discharged_at is not None:
        return "discharged"
    if s.dose_start is None:
        return "pre-dose checks"
    if s.route != "esketamine" and (s.dose_end is None or now < s.dose_end):
        return "dosing"  # the infusion is running
    if st is not None and st.discharge.allowed:
        return "ready for discharge"
    return "monitoring"


def chair_board(
    db: Session,
    site: Site,
    chairs: Sequence[Chair],
    day_start: datetime,
    day_end: datetime,
    now: datetime,
    settings: Settings,
    clinical: bool = True,
) -> tuple[list[dict[str, Any]], list[int]]:
    """One row per chair of ``chairs`` (the site's active ones, as ``queries.board_site``
    reads them with the site): the booking in it now, else its next one today; and the
    patients shown (for the audit). ``clinical=False`` (the front desk's read-only board)
    leaves out the patient's score alerts and the session link: the phase and what is due
    stay."""
    # The day's bookings with their patients and sessions in one statement (not one per chair).
    by_chair: dict[int, list[Booking]] = {}
    by_id: dict[int, TreatmentSession] = {}
    names: dict[int, str] = {}
    for b, name, s in queries.board_bookings(db, site.id, day_start, day_end):
        by_chair.setdefault(b.chair_id, []).append(b)
        names[b.patient_id] = name
        if s is not None:
            by_id[s.id] = s
    cfg = safety_config(settings)
    # The rules' view of every open session of the day in two statements (not eight a chair).
    floor = session_state.floor_states(
        db, [x for x in by_id.values() if x.discharged_at is None], cfg, now
    )
    out: list[dict[str, Any]] = []
    shown: list[int] = []
    for chair in chairs:
        mine = by_chair.get(chair.id, [])
        sessions = {b.id: by_id.get(b.session_id) for b in mine if b.session_id is not None}
        current = next(
            (b for b in mine if (s := sessions.get(b.id)) is not None and s.discharged_at is None),
            None,
        ) or next((b for b in mine if b.ends_at > now and b.id not in sessions), None)
        row: dict[str, Any] = {
            "chair_id": chair.id,
            "chair": chair.name,
            "phase": "free",
            "alerts": [],
            "next_due": "",
            "next_due_at": None,
        }
        if current is not None:
            s = sessions.get(current.id)
            st = floor.get(s.id) if s is not None else None
            shown.append(current.patient_id)
            row.update(
                booking_id=current.id,
                patient_id=current.patient_id,
                patient=names.get(current.patient_id, ""),
                phase=_phase(current, s, st, now),
                confirmed=current.confirmed_at is not None,
                instructions_ack=current.instructions_ack_at is not None,
                session_id=current.session_id,
                starts_at=current.starts_at,
            )
            alerts: list[str] = []
            if current.confirmed_at is None:
                alerts.append("not confirmed")
            if current.reschedule_requested_at is not None:
                alerts.append("asked to reschedule")
            if st is not None:
                # Next: what is due now, else the next upcoming; overdue ones are alerts.
                pending = [d for d in st.due if d.status == "due"] or [
                    d for d in st.due if d.status == "upcoming"
                ]
                if pending:
                    row["next_due"] = f"{pending[0].label} ({pending[0].status})"
                    row["next_due_at"] = pending[0].at
                alerts += [f"{d.label} overdue" for d in st.due if d.status == "overdue"]
                if clinical:
                    alerts += list(st.alerts)
            elif s is None:
                row["next_due"] = "check-in and pre-dose checks"
                row["next_due_at"] = current.starts_at
                if now > current.starts_at + timedelta(minutes=15):
                    alerts.append("late: not checked in")
            row["alerts"] = alerts
            if not clinical:
                row["session_id"] = None
        out.append(row)
    return out, shown


def board_for(
    db: Session, actor: Actor, site_id: int, settings: Settings, now: datetime
) -> list[dict[str, Any]]:
    """The board of a site of the actor's clinic today (clinic time), audited with the
    patients it shows; the front desk's is read-only and non-clinical (``chair_board``)."""
    assert actor.clinic_id is not None
    site, clinic, chairs = queries.board_site(db, actor.clinic_id, site_id)
    tz = clock.clinic_tz(clinic, settings.timezone).key
    today = clock.local_date(now, tz) or now.date()
    start, end = clock.local_day_bounds(today, tz)
    clinical = actor.user is None or actor.user.role is not Role.frontdesk
    rows, shown = chair_board(db, site, chairs, start, end, now, settings, clinical)
    record(db, actor, "list", "sched_booking", f"board:{site.id}", patients=sorted(set(shown)))
    return rows
