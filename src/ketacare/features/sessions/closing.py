"""Discharge sign-off, discharge, signing and amendments (flush, never commit)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.domain.sessions import rems
from ketacare.domain.sessions.discharge import DischargeResult
from ketacare.domain.sessions.safety import Reason
from ketacare.features import registry
from ketacare.features._kit.errors import BadRequest, Forbidden, KetacareError
from ketacare.features.auth.models import Role, User
from ketacare.features.sessions.models import (
    RemsForm,
    SessionAmendment,
    SessionStatus,
    TreatmentSession,
)
from ketacare.features.sessions.service import SessionLocked, require_open
from ketacare.settings import Settings


class Refused(KetacareError):
    """A step refused by the rules; ``reasons`` lists every unmet condition."""

    status_code = 422

    def __init__(self, field: str, reasons: tuple[Reason, ...] | list[Reason]) -> None:
        first = reasons[0].text if reasons else "refused"
        super().__init__(first, field)
        self.reasons = tuple(reasons)


def approve_discharge(db: Session, s: TreatmentSession, user: User, now: datetime) -> None:
    """A clinician signs that the patient is clinically stable to leave."""
    require_open(s)
    if user.role != Role.clinician:
        raise Forbidden("only a clinician may sign the discharge assessment")
    if s.dose_start is None:
        raise BadRequest("record the dose first", "dose")
    s.clinician_approved_by_id, s.clinician_approved_at = user.id, now
    db.flush()


def discharge(
    db: Session, s: TreatmentSession, user: User, gate: DischargeResult, now: datetime
) -> None:
    """Discharge the patient when the gate allows it; else :class:`Refused` with every reason."""
    require_open(s)
    if s.discharged_at is not None:
        raise BadRequest("the patient is already discharged", "discharge")
    if not gate.allowed:
        raise Refused("discharge", gate.unmet)
    s.discharged_at, s.discharged_by_id = now, user.id
    s.status = SessionStatus.discharged
    db.flush()


def sign(
    db: Session,
    s: TreatmentSession,
    user: User,
    rems_missing: list[Reason],
    now: datetime,
    settings: Settings,
) -> None:
    """Sign the discharged session (esketamine: the REMS form must be complete); read-only after."""
    require_open(s)
    if s.status != SessionStatus.discharged:
        raise BadRequest("discharge the patient before signing", "status")
    if s.route == "esketamine" and rems_missing:
        raise Refused("rems", rems_missing)
    for check in registry.session_hooks("session_sign"):  # e.g. the CS ledger agrees (18.4)
        field, reasons = check(db, settings, s)
        if reasons:
            raise Refused(field, reasons)
    s.status = SessionStatus.signed
    s.signed_at, s.signed_by_id, s.signed_by_email = now, user.id, user.email
    db.flush()


AMENDABLE = {"product": 100, "lot": 64, "notes": 4000}


def rems_form(db: Session, s: TreatmentSession) -> RemsForm | None:
    """The session's REMS form row (esketamine only)."""
    return db.execute(select(RemsForm).where(RemsForm.session_id == s.id)).scalar_one_or_none()


def snapshot(s: TreatmentSession, form: RemsForm | None) -> dict[str, Any]:
    """The amendable part of the record."""
    out: dict[str, Any] = {
        "product": s.product,
        "lot": s.lot,
        "notes": s.notes,
        "given_dose_mg": s.given_dose_mg,
    }
    if form is not None:
        out.update({f"rems.{k}": v for k, v in sorted((form.fields or {}).items())})
    return out


def amend(
    db: Session,
    s: TreatmentSession,
    user: User,
    reason: str,
    changes: dict[str, Any],
    now: datetime,
) -> SessionAmendment:
    """Correct a signed session; the change, its reason and both versions are kept."""
    if s.status != SessionStatus.signed:
        raise BadRequest("only a signed session is amended; edit it directly", "status")
    if not reason.strip():
        raise BadRequest("is required", "reason")
    if not changes:
        raise BadRequest("name at least one field to change", "changes")
    form = rems_form(db, s)
    before = snapshot(s, form)
    fields = dict(form.fields or {}) if form else {}
    for key, value in changes.items():
        if key in AMENDABLE:
            text = str(value or "").strip()
            if len(text) > AMENDABLE[key]:
                raise BadRequest(f"must be at most {AMENDABLE[key]} characters", f"changes.{key}")
            setattr(s, key, text)
        elif key == "given_dose_mg":
            try:
                dose = float(value)
            except (TypeError, ValueError):
                raise BadRequest("must be a number", "changes.given_dose_mg") from None
            if not 0 < dose <= 500:
                raise BadRequest("must be above 0 and at most 500", "changes.given_dose_mg")
            s.given_dose_mg = dose
        elif key.startswith("rems.") and form is not None and key[5:] in rems.MANUAL_FIELDS:
            spec = next(f for f in rems.PMF_FIELDS if f.id == key[5:])
            problem = rems.field_problem(spec, value)
            if problem:
                raise BadRequest(problem, f"changes.{key}")
            fields[key[5:]] = str(value or "").strip()
        else:
            raise BadRequest("cannot be amended", f"changes.{key}")
    if form is not None:
        form.fields = fields
        form.updated_at = now
    s.version += 1
    row = SessionAmendment(
        session_id=s.id,
        version=s.version,
        reason=reason.strip(),
        changes=dict(changes),
        before=before,
        after=snapshot(s, form),
        by_id=user.id,
        by_email=user.email,
        at=now,
    )
    db.add(row)
    db.flush()
    return row


__all__ = ["Refused", "SessionLocked", "amend", "approve_discharge", "discharge", "sign"]
