"""Each charting step as one call shared by the API and the pages: run the service, audit it.

Every step records its audit events (with the patient) under the context's actor, whose
channel is ``api`` or ``page``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from ketacare.domain.sessions.safety import Reason, SafetyConfig
from ketacare.features import registry
from ketacare.features._kit import clock
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import User
from ketacare.features.patients.models import Patient
from ketacare.features.sessions import (
    closing,
    idempotency,
    queries,
    recording,
    rems_forms,
    service,
    state,
)
from ketacare.features.sessions.models import RemsForm, SessionNotification, TreatmentSession
from ketacare.features.sessions.schemas import (
    AdverseEventIn,
    AmendmentIn,
    ChecklistIn,
    DecisionIn,
    DoseIn,
    ScaleIn,
    SessionCreate,
    VitalsIn,
)
from ketacare.settings import Settings

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Ctx:
    """What every step needs: the unit of work, who acts, the configuration, the request's
    clock and the clinic's time zone (no HTTP request: steps run the same from any caller)."""

    db: Session
    actor: Actor
    settings: Settings
    cfg: SafetyConfig
    now: datetime
    tz: str

    @property
    def user(self) -> User:
        """The staff member acting (steps are taken by signed-in staff only)."""
        assert self.actor.user is not None
        return self.actor.user

    def today(self) -> date:
        """Today's date in the clinic's time zone (not UTC's)."""
        local = clock.to_local(self.now, self.tz)
        assert local is not None
        return local.date()

    def state(self, s: TreatmentSession) -> state.SessionState:
        """The session's state now."""
        return state.build(self.db, s, self.settings, self.cfg, self.now)


def attempt(c: Ctx, action: Callable[[], T]) -> T:
    """Run ``action`` in a savepoint: a refused step undoes only its own writes.

    A rolled-back SAVEPOINT keeps the queued audit events (audit/service.py), so a refused
    step is still recorded.
    """
    with c.db.begin_nested():
        return action()


def create(c: Ctx, patient: Patient, body: SessionCreate) -> TreatmentSession:
    s = service.create_session(
        c.db, c.user, patient, body, c.today(), c.settings.session_link_window_days,
        c.tz,
    )  # fmt: skip
    # Other features' gates (REMS setting, enrolment, prescriber on site; a valid consent):
    # a refusal raises, and the request rolls back.
    for check in registry.session_hooks("session_open"):
        check(c.db, c.settings, s, c.now)
    rems_forms.ensure_form(
        c.db, s, c.settings.rems_setting_address, c.settings.rems_deadline_days,
        c.tz,
    )  # fmt: skip
    record(c.db, c.actor, "create", "treatment_session", s.id, s.patient_id)
    return s


def checklist(c: Ctx, s: TreatmentSession, body: ChecklistIn) -> None:
    service.save_checklist(c.db, s, c.user, body, c.now)
    record(c.db, c.actor, "update", "session_checklist", s.id, s.patient_id)


def decide(c: Ctx, s: TreatmentSession, body: DecisionIn) -> None:
    needed = c.state(s).predose.bp_decision_needed is not None
    service.decide_bp(c.db, s, c.user, body, needed, c.now)
    record(c.db, c.actor, "update", "session_bp_decision", s.id, s.patient_id)


def dose(c: Ctx, s: TreatmentSession, body: DoseIn) -> None:
    planned = service.planned_of(c.db, s)
    service.record_dose(c.db, s, body, c.state(s).predose, c.now, planned.infusion_min)
    rems_forms.ensure_form(
        c.db, s, c.settings.rems_setting_address, c.settings.rems_deadline_days,
        c.settings.timezone,
    )  # fmt: skip
    record(c.db, c.actor, "update", "session_dose", s.id, s.patient_id)


def vitals(c: Ctx, s: TreatmentSession, body: VitalsIn, key: str = "") -> int:
    """Add a reading once per idempotency ``key`` ('' for none)."""

    def create() -> int:
        return recording.add_vitals(c.db, s, c.user, body, c.now, c.cfg).id

    rid, new = idempotency.once(c.db, s, key, "vitals", body, create)
    if new:
        record(c.db, c.actor, "create", "vital_sign", rid, s.patient_id)
    return rid


def scale(c: Ctx, s: TreatmentSession, body: ScaleIn, key: str = "") -> int:
    events: list[int] = []

    def create() -> int:
        row, event = recording.add_scale(c.db, s, c.user, body, c.now)
        if event is not None:
            events.append(event.id)
        return row.id

    rid, new = idempotency.once(c.db, s, key, "scales", body, create)
    if new:
        record(c.db, c.actor, "create", "scale_score", rid, s.patient_id)
        for eid in events:
            record(c.db, c.actor, "create", "adverse_event", eid, s.patient_id)
            record(c.db, c.actor, "notify", "adverse_event", eid, s.patient_id)
    return rid


def adverse_event(c: Ctx, s: TreatmentSession, body: AdverseEventIn, key: str = "") -> int:
    """Add an adverse event once per idempotency ``key`` ('' for none)."""

    def create() -> int:
        return recording.add_adverse_event(c.db, s, c.user, body, c.now).id

    rid, new = idempotency.once(c.db, s, key, "adverse-events", body, create)
    if new:
        record(c.db, c.actor, "create", "adverse_event", rid, s.patient_id)
        if body.serious:
            record(c.db, c.actor, "notify", "adverse_event", rid, s.patient_id)
    return rid


def approve(c: Ctx, s: TreatmentSession) -> None:
    closing.approve_discharge(c.db, s, c.user, c.now)
    record(c.db, c.actor, "update", "session_discharge_approval", s.id, s.patient_id)


def discharge(c: Ctx, s: TreatmentSession) -> None:
    gate = c.state(s).discharge
    try:
        closing.discharge(c.db, s, c.user, gate, c.now)
    except closing.Refused:
        record(c.db, c.actor, "discharge", "treatment_session", s.id, s.patient_id, "refused")
        raise
    record(c.db, c.actor, "discharge", "treatment_session", s.id, s.patient_id)


def rems_values(c: Ctx, s: TreatmentSession) -> tuple[dict[str, Any], list[Reason]]:
    st = c.state(s)
    form = closing.rems_form(c.db, s)
    vals = rems_forms.values(c.db, st, form, c.settings.timezone, c.cfg.esk_recheck_window_min)
    return vals, list(rems_forms.missing(vals))


def save_rems(c: Ctx, s: TreatmentSession, fields: dict[str, str]) -> None:
    rems_forms.save_fields(c.db, s, fields, c.now)
    record(c.db, c.actor, "update", "rems_form", s.id, s.patient_id)


def sign(c: Ctx, s: TreatmentSession) -> None:
    missing = []
    if s.route == "esketamine":
        st = c.state(s)
        form = closing.rems_form(c.db, s)
        vals = rems_forms.values(c.db, st, form, c.settings.timezone, c.cfg.esk_recheck_window_min)
        missing = rems_forms.missing(vals)
    closing.sign(c.db, s, c.user, missing, c.now)
    record(c.db, c.actor, "sign", "treatment_session", s.id, s.patient_id)


def amend(c: Ctx, s: TreatmentSession, body: AmendmentIn) -> int:
    row = closing.amend(c.db, s, c.user, body.reason, body.changes, c.now)
    record(c.db, c.actor, "amend", "treatment_session", s.id, s.patient_id)
    return row.version


def list_sessions(c: Ctx, patient_id: int) -> list[TreatmentSession]:
    """The patient's charted sessions, newest first (audited as a list)."""
    rows = queries.patient_sessions(c.db, patient_id)
    record(c.db, c.actor, "list", "treatment_session", "", patient_id)
    return rows


def read_rems(c: Ctx, s: TreatmentSession) -> tuple[dict[str, Any], list[Reason], RemsForm | None]:
    """The REMS form's values, what is missing, and its row (audited as a read)."""
    vals, missing = rems_values(c, s)
    form = closing.rems_form(c.db, s)
    record(c.db, c.actor, "read", "rems_form", s.id, s.patient_id)
    return vals, missing, form


def export_rems(c: Ctx, s: TreatmentSession) -> dict[str, Any]:
    """The signed session's REMS values for a download (audited as an export)."""
    rems_forms.require_exportable(s)
    vals, _ = rems_values(c, s)
    record(c.db, c.actor, "export", "rems_form", s.id, s.patient_id)
    return vals


def submit_rems(c: Ctx, s: TreatmentSession) -> None:
    """Record that the signed session's form was submitted to the REMS."""
    rems_forms.mark_submitted(c.db, s, c.user.id, c.now)
    record(c.db, c.actor, "submit", "rems_form", s.id, s.patient_id)


def rems_due(c: Ctx) -> list[rems_forms.DueForm]:
    """REMS forms of the clinic not yet submitted (audited as a list)."""
    rows = rems_forms.forms_due(c.db, c.user.clinic_id, c.today(), c.tz)
    record(c.db, c.actor, "list", "rems_form", "", None)
    return rows


@dataclass(frozen=True, slots=True)
class Today:
    """The Today page: sessions started today (clinic day), REMS forms due, notifications."""

    rows: list[tuple[TreatmentSession, Patient]]
    due: list[rems_forms.DueForm]
    notifications: list[SessionNotification]


def today(c: Ctx) -> Today:
    """What the Today page shows; every patient on it is audited in one list event."""
    local_today = c.today()
    start = clock.local_day_bounds(local_today, c.tz)[0]
    rows = queries.sessions_since(c.db, c.user.clinic_id, start)
    due = rems_forms.forms_due(c.db, c.user.clinic_id, local_today, c.tz)
    notes = recording.notifications_for(c.db, c.user)
    seen = [p.id for _s, p in rows] + [d.patient_id for d in due]
    record(c.db, c.actor, "list", "treatment_session", "today", patients=seen)
    return Today(rows, due, notes)
