"""Everything known about a session at ``now``: checklist, flags, due times, discharge gate.

Built from the stored rows and the pure rules of ``ketacare.domain``; shared by the API and
the pages (read only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import CompoundSelect, bindparam, literal, null, select, union_all
from sqlalchemy.orm import Session

from ketacare.domain.sessions.discharge import (
    DischargeFacts,
    DischargeResult,
    ScaleAt,
    check_discharge,
)
from ketacare.domain.sessions.safety import (
    Due,
    PreDoseResult,
    Reason,
    SafetyConfig,
    Vitals,
    check_predose,
    vitals_due,
    vitals_flags,
)
from ketacare.features._kit import clock
from ketacare.features._kit.labels import instrument_label
from ketacare.features.assessments.models import Alert, AlertStatus, Assessment
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.models import (
    AdverseEvent,
    ScaleScore,
    SessionAmendment,
    TreatmentSession,
    VitalSign,
)
from ketacare.features.sessions.recording import as_vitals
from ketacare.features.sessions.service import predose_of
from ketacare.settings import Settings


def todays_assessments(
    db: Session, patient_id: int, day_start: datetime, tz: str = "UTC"
) -> tuple[list[str], list[str]]:
    """Today's PHQ-9/C-SSRS results and the patient's open alerts, as short lines (the
    pre-dose checklist reads them)."""
    results: list[str] = []
    alerts: list[str] = []
    params = {"patient_id": patient_id, "day_start": day_start}
    for r in db.execute(_today_statement(), params):
        if r.part == 0:
            results.append(
                f"{instrument_label(r.text)}: total {r.total if r.total is not None else '—'}"
                f" ({(r.detail or 'no band').replace('_', ' ')})"
                f" at {clock.format_local(r.at, tz, '%H:%M')}"
            )
        else:
            alerts.append(f"{r.text}: {r.detail}")
    return results, alerts


@cache
def _today_statement() -> CompoundSelect[Any]:
    """The one query of :func:`todays_assessments`, built once:
    today's results (part 0, by time) and the open alerts (part 1, oldest first), as the
    columns the lines show (no entities: no JSON answers decoded, no identity map)."""
    todays = select(
        literal(0).label("part"),
        Assessment.instrument_id.label("text"),
        Assessment.total.label("total"),
        Assessment.band.label("detail"),
        Assessment.completed_at.label("at"),
        Assessment.id.label("ord"),
    ).where(
        Assessment.patient_id == bindparam("patient_id"),
        Assessment.completed_at >= bindparam("day_start", type_=Assessment.completed_at.type),
        Assessment.instrument_id.in_(("phq9", "cssrs-screen-recent", "cssrs-screen-slv")),
    )
    open_alerts = select(
        literal(1),
        Alert.level,
        null(),
        Alert.reason,
        null(),
        Alert.id,
    ).where(Alert.patient_id == bindparam("patient_id"), Alert.status == AlertStatus.open)
    both: CompoundSelect[Any] = union_all(todays, open_alerts)
    c = both.selected_columns
    return both.order_by(c.part, c.at, c.ord)


@dataclass(frozen=True, slots=True)
class SessionState:
    """A session with its rows and every rule's result at ``now``."""

    session: TreatmentSession
    patient: Patient
    now: datetime
    vitals: list[tuple[VitalSign, list[Reason]]]
    scales: list[ScaleScore]
    events: list[AdverseEvent]
    amendments: list[SessionAmendment]
    predose: PreDoseResult
    due: list[Due]
    discharge: DischargeResult
    assessments: list[str]
    alerts: list[str]

    @property
    def locked(self) -> bool:
        """Signed: read-only."""
        return self.session.status.value == "signed"


def _by_session(model: Any, order: Any) -> Any:
    statement = select(model).where(model.session_id == bindparam("session_id"))
    return statement.order_by(order, model.id)


# Built once: the state is rebuilt on every charting request. Rows of the same instant come
# in the order they were stored (``id``): "the latest MOAA/S" must not depend on the plan.
_ROWS = {
    VitalSign: _by_session(VitalSign, VitalSign.at),
    ScaleScore: _by_session(ScaleScore, ScaleScore.at),
    AdverseEvent: _by_session(AdverseEvent, AdverseEvent.onset_at),
    SessionAmendment: _by_session(SessionAmendment, SessionAmendment.version),
}


def _rows(db: Session, model: Any, session_id: int) -> list[Any]:
    return list(db.execute(_ROWS[model], {"session_id": session_id}).scalars())


class ScaleRow(NamedTuple):
    """What the discharge gate reads of a scale score."""

    instrument_id: str
    timepoint: str
    at: datetime
    total: int


def discharge_facts(
    s: TreatmentSession, vitals: list[VitalSign], scales: list[ScaleScore]
) -> DischargeFacts:
    """The gate's inputs from the rows."""
    return _facts(
        s,
        [(v.pre_dose, as_vitals(v)) for v in vitals],
        [ScaleRow(x.instrument_id, x.timepoint, x.at, x.total) for x in scales],
    )


def _facts(
    s: TreatmentSession, vitals: list[tuple[bool, Vitals]], scales: list[ScaleRow]
) -> DischargeFacts:
    """The gate's inputs from (pre-dose?, reading) pairs in time order and scale rows."""
    base = next((v for pre_dose, v in vitals if pre_dose), None)
    post = [v for pre_dose, v in vitals if not pre_dose]

    def pre(instrument: tuple[str, ...]) -> int | None:
        xs = [
            x.total for x in scales if x.instrument_id in instrument and x.timepoint == "pre_dose"
        ]
        return xs[-1] if xs else None

    def after(instrument: tuple[str, ...]) -> tuple[ScaleAt, ...]:
        return tuple(
            ScaleAt(x.at, x.total)
            for x in scales
            if x.instrument_id in instrument and x.timepoint != "pre_dose"
        )

    cadss = ("cadss6", "cadss23")
    return DischargeFacts(
        route=s.route,
        dose_start=s.dose_start,
        last_device_at=s.last_device_at,
        dose_end=s.dose_end,
        baseline=base,
        readings=tuple(post),
        moaas_pre=pre(("moaas",)),
        moaas=after(("moaas",)),
        cadss_pre=pre(cadss),
        cadss=after(cadss),
        clinician_approved_at=s.clinician_approved_at,
    )


def build(
    db: Session, s: TreatmentSession, settings: Settings, cfg: SafetyConfig, now: datetime
) -> SessionState:
    """The session's state at ``now``."""
    # The session's lookup (queries.get_session) loaded its patient, and the token query the
    # caller's clinic: both are usually in the unit of work already (no statement then).
    patient = db.get(Patient, s.patient_id)
    assert patient is not None  # a session's patient cannot be deleted (RESTRICT)
    vitals: list[VitalSign] = _rows(db, VitalSign, s.id)
    scales: list[ScaleScore] = _rows(db, ScaleScore, s.id)
    events: list[AdverseEvent] = _rows(db, AdverseEvent, s.id)
    amendments: list[SessionAmendment] = _rows(db, SessionAmendment, s.id)
    # "Today" is the clinic's local day (features/_kit/clock.py).
    tz = clock.clinic_tz(db.get(Clinic, s.clinic_id), settings.timezone).key
    day_start = clock.local_day_bounds(clock.local_date(now, tz) or now.date(), tz)[0]
    results, alerts = todays_assessments(db, s.patient_id, day_start, tz)
    base = next((v for v in vitals if v.pre_dose), None)
    flagged = [
        (
            v,
            []
            if v.pre_dose
            else vitals_flags(as_vitals(v), as_vitals(base) if base else None, cfg),
        )
        for v in vitals
    ]
    predose = check_predose(predose_of(s, patient, settings, now, alerts), now, cfg)
    due = (
        []
        if s.discharged_at is not None  # discharged or signed: no reminders any more
        else vitals_due(
            s.route, s.dose_start, s.dose_end, [v.at for v in vitals if not v.pre_dose], now, cfg
        )
    )
    gate = check_discharge(discharge_facts(s, vitals, scales), now, cfg)
    return SessionState(
        s, patient, now, flagged, scales, events, amendments, predose, due, gate, results, alerts
    )


def reason_dicts(reasons: tuple[Reason, ...] | list[Reason]) -> list[dict[str, str]]:
    """JSON-ready reasons."""
    return [r.to_dict() for r in reasons]


@dataclass(frozen=True, slots=True)
class FloorState:
    """What the chair board shows of a session at ``now``: due vitals, the discharge gate and
    the patient's open alerts (the same rules as :class:`SessionState`, fewer rows)."""

    due: list[Due]
    discharge: DischargeResult
    alerts: list[str]


#: The board's reads of the floor rules' rows, built once: only the columns the rules use,
#: as plain rows (no ORM objects, no JSON columns decoded). ``ids``: the sessions or patients.
#: The vitals (part 0) and the scale scores (part 1) of the sessions in one statement, each
#: part in the order it was charted (time, then the order stored).
_FLOOR_VITALS = select(
    literal(0).label("part"),
    VitalSign.session_id,
    VitalSign.at,
    VitalSign.id,
    VitalSign.pre_dose,
    VitalSign.systolic,
    VitalSign.diastolic,
    VitalSign.heart_rate,
    VitalSign.spo2,
    VitalSign.resp_rate,
    null().label("instrument_id"),
    null().label("timepoint"),
    null().label("total"),
).where(VitalSign.session_id.in_(bindparam("ids", expanding=True)))
_FLOOR_SCALES = select(
    literal(1),
    ScaleScore.session_id,
    ScaleScore.at,
    ScaleScore.id,
    null(),
    null(),
    null(),
    null(),
    null(),
    null(),
    ScaleScore.instrument_id,
    ScaleScore.timepoint,
    ScaleScore.total,
).where(ScaleScore.session_id.in_(bindparam("ids", expanding=True)))
_FLOOR_CHART: CompoundSelect[Any] = union_all(_FLOOR_VITALS, _FLOOR_SCALES)
_FLOOR_CHART = _FLOOR_CHART.order_by(
    _FLOOR_CHART.selected_columns.part,
    _FLOOR_CHART.selected_columns.at,
    _FLOOR_CHART.selected_columns.id,
)
_FLOOR_ALERTS = (
    select(Alert.patient_id, Alert.level, Alert.reason)
    .where(Alert.patient_id.in_(bindparam("ids", expanding=True)))
    .where(Alert.status == AlertStatus.open)
    .order_by(Alert.id)
)


def floor_states(
    db: Session, sessions: list[TreatmentSession], cfg: SafetyConfig, now: datetime
) -> dict[int, FloorState]:
    """:class:`FloorState` of each of ``sessions`` in two statements whatever their number
    (the board built a whole :class:`SessionState`, eight statements, per chair), read as
    plain rows: the board polls often (benchmarks/load.py ``--board-share``)."""
    if not sessions:
        return {}
    ids = [s.id for s in sessions]
    vitals: dict[int, list[tuple[bool, Vitals]]] = {i: [] for i in ids}
    scales: dict[int, list[ScaleRow]] = {i: [] for i in ids}
    for r in db.execute(_FLOOR_CHART, {"ids": ids}):
        if r.part == 0:
            vitals[r.session_id].append(
                (
                    r.pre_dose,
                    Vitals(r.at, r.systolic, r.diastolic, r.heart_rate, r.spo2, r.resp_rate),
                )
            )
        else:
            scales[r.session_id].append(ScaleRow(r.instrument_id, r.timepoint, r.at, r.total))
    alerts: dict[int, list[str]] = {}
    patient_ids = sorted({s.patient_id for s in sessions})
    for patient_id, level, reason in db.execute(_FLOOR_ALERTS, {"ids": patient_ids}):
        alerts.setdefault(patient_id, []).append(f"{level}: {reason}")
    out: dict[int, FloorState] = {}
    for s in sessions:
        rows = vitals[s.id]
        due = (
            []
            if s.discharged_at is not None
            else vitals_due(
                s.route, s.dose_start, s.dose_end, [v.at for pre, v in rows if not pre], now, cfg
            )
        )
        gate = check_discharge(_facts(s, rows, scales[s.id]), now, cfg)
        out[s.id] = FloorState(due, gate, alerts.get(s.patient_id, []))
    return out
