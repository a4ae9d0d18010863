"""Each charting step as one call shared by the API and the pages: run the service, audit it.

``channel`` is ``api`` or ``page``; every step records one audit event (with the patient).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from ketacare.domain.sessions.safety import Reason, SafetyConfig
from ketacare.features._kit import clock
from ketacare.features._kit.templating import page_tz
from ketacare.features.auth.models import User
from ketacare.features.consent import service as consent
from ketacare.features.patients.models import Patient
from ketacare.features.rems import service as rems_gate
from ketacare.features.sessions import charting, closing, idempotency, rems_forms, service, state
from ketacare.features.sessions.context import audit
from ketacare.features.sessions.models import TreatmentSession
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


class Ctx:
    """What every step needs."""

    def __init__(
        self,
        request: Request,
        db: Session,
        user: User,
        settings: Settings,
        cfg: SafetyConfig,
        now: datetime,
        channel: str,
    ) -> None:
        self.request, self.db, self.user = request, db, user
        self.settings, self.cfg, self.now, self.channel = settings, cfg, now, channel

    def audit(
        self, action: str, resource: str, rid: object, patient_id: int | None, outcome: str = "ok"
    ) -> None:
        """One audit event for this step."""
        audit(
            self.request,
            self.db,
            self.user,
            action,
            resource,
            rid,
            patient_id,
            self.channel,
            outcome,
        )

    def today(self) -> date:
        """Today's date in the clinic's time zone (not UTC's)."""
        local = clock.to_local(self.now, page_tz(self.request))
        assert local is not None
        return local.date()

    def state(self, s: TreatmentSession) -> state.SessionState:
        """The session's state now."""
        return state.build(self.db, s, self.settings, self.cfg, self.now)


def create(c: Ctx, patient: Patient, body: SessionCreate) -> TreatmentSession:
    s = service.create_session(
        c.db, c.user, patient, body, c.today(), c.settings.session_link_window_days,
        page_tz(c.request),
    )  # fmt: skip
    rems_gate.check_session_open(c.db, c.settings, s, c.now)  # REMS: refuses -> rolls back
    consent.check_session_open(c.db, c.settings, s)  # a valid consent for the route
    rems_forms.ensure_form(
        c.db, s, c.settings.rems_setting_address, c.settings.rems_deadline_days,
        page_tz(c.request),
    )  # fmt: skip
    c.audit("create", "treatment_session", s.id, s.patient_id)
    return s


def checklist(c: Ctx, s: TreatmentSession, body: ChecklistIn) -> None:
    service.save_checklist(c.db, s, c.user, body, c.now)
    c.audit("update", "session_checklist", s.id, s.patient_id)


def decide(c: Ctx, s: TreatmentSession, body: DecisionIn) -> None:
    needed = c.state(s).predose.bp_decision_needed is not None
    service.decide_bp(c.db, s, c.user, body, needed, c.now)
    c.audit("update", "session_bp_decision", s.id, s.patient_id)


def dose(c: Ctx, s: TreatmentSession, body: DoseIn) -> None:
    planned = service.planned_of(c.db, s)
    service.record_dose(c.db, s, body, c.state(s).predose, c.now, planned.infusion_min)
    rems_forms.ensure_form(
        c.db, s, c.settings.rems_setting_address, c.settings.rems_deadline_days,
        c.settings.timezone,
    )  # fmt: skip
    c.audit("update", "session_dose", s.id, s.patient_id)


def vitals(c: Ctx, s: TreatmentSession, body: VitalsIn) -> int:
    key = idempotency.key_of(c.request.headers)

    def create() -> int:
        return charting.add_vitals(c.db, s, c.user, body, c.now, c.cfg).id

    rid, new = idempotency.once(c.db, s, key, "vitals", body, create)
    if new:
        c.audit("create", "vital_sign", rid, s.patient_id)
    return rid


def scale(c: Ctx, s: TreatmentSession, body: ScaleIn) -> int:
    key = idempotency.key_of(c.request.headers)
    events: list[int] = []

    def create() -> int:
        row, event = charting.add_scale(c.db, s, c.user, body, c.now)
        if event is not None:
            events.append(event.id)
        return row.id

    rid, new = idempotency.once(c.db, s, key, "scales", body, create)
    if new:
        c.audit("create", "scale_score", rid, s.patient_id)
        for eid in events:
            c.audit("create", "adverse_event", eid, s.patient_id)
            c.audit("notify", "adverse_event", eid, s.patient_id)
    return rid


def adverse_event(c: Ctx, s: TreatmentSession, body: AdverseEventIn) -> int:
    key = idempotency.key_of(c.request.headers)

    def create() -> int:
        return charting.add_adverse_event(c.db, s, c.user, body, c.now).id

    rid, new = idempotency.once(c.db, s, key, "adverse-events", body, create)
    if new:
        c.audit("create", "adverse_event", rid, s.patient_id)
        if body.serious:
            c.audit("notify", "adverse_event", rid, s.patient_id)
    return rid


def approve(c: Ctx, s: TreatmentSession) -> None:
    closing.approve_discharge(c.db, s, c.user, c.now)
    c.audit("update", "session_discharge_approval", s.id, s.patient_id)


def discharge(c: Ctx, s: TreatmentSession) -> None:
    gate = c.state(s).discharge
    try:
        closing.discharge(c.db, s, c.user, gate, c.now)
    except closing.Refused:
        c.audit("discharge", "treatment_session", s.id, s.patient_id, "refused")
        raise
    c.audit("discharge", "treatment_session", s.id, s.patient_id)


def rems_values(c: Ctx, s: TreatmentSession) -> tuple[dict[str, Any], list[Reason]]:
    st = c.state(s)
    form = closing.rems_form(c.db, s)
    vals = rems_forms.values(c.db, st, form, c.settings.timezone, c.cfg.esk_recheck_window_min)
    return vals, list(rems_forms.missing(vals))


def save_rems(c: Ctx, s: TreatmentSession, fields: dict[str, str]) -> None:
    rems_forms.save_fields(c.db, s, fields, c.now)
    c.audit("update", "rems_form", s.id, s.patient_id)


def sign(c: Ctx, s: TreatmentSession) -> None:
    missing = []
    if s.route == "esketamine":
        st = c.state(s)
        form = closing.rems_form(c.db, s)
        vals = rems_forms.values(c.db, st, form, c.settings.timezone, c.cfg.esk_recheck_window_min)
        missing = rems_forms.missing(vals)
    closing.sign(c.db, s, c.user, missing, c.now)
    c.audit("sign", "treatment_session", s.id, s.patient_id)


def amend(c: Ctx, s: TreatmentSession, body: AmendmentIn) -> int:
    row = closing.amend(c.db, s, c.user, body.reason, body.changes, c.now)
    c.audit("amend", "treatment_session", s.id, s.patient_id)
    return row.version
