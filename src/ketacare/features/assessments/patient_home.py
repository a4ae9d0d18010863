"""The patient's home page after login (``/me``): their open questionnaire links and how to
reach the clinic. The full patient portal is a later issue; until then a patient account
lands here instead of on a staff page (403)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import or_, select

from ketacare.db.base import utcnow
from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments.loader import get_instrument
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, client_ip
from ketacare.features._kit.templating import render
from ketacare.features.assessments.models import Invitation
from ketacare.features.audit.service import record
from ketacare.features.auth.deps import PageUser
from ketacare.features.auth.models import Role
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients.models import Patient

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

PATIENT_HOME = "/me"


@dataclass(frozen=True, slots=True)
class DueLink:
    """One open questionnaire link, as the patient sees it."""

    instrument: str
    due_at: datetime
    expires_at: datetime
    sent: bool


def _name(instrument_id: str) -> str:
    try:
        inst = get_instrument(instrument_id)
    except InvalidAnswer:
        return instrument_id
    return f"{inst.name} ({inst.short_name})"


@router.get(PATIENT_HOME, response_class=HTMLResponse)
def patient_home(request: Request, user: PageUser, db: DbDep) -> Response:
    """The logged-in patient's page (staff go to their own start page)."""
    if user.role != Role.patient:
        return RedirectResponse("/leads", status_code=303)
    clinic = db.get(Clinic, user.clinic_id)
    # The patient record of this account: linked by id, else the clinic's record with the
    # account's email (both are entered by the clinic's staff).
    stmt = (
        select(Patient)
        .where(
            Patient.clinic_id == user.clinic_id,
            or_(Patient.user_id == user.id, Patient.email == user.email),
        )
        .order_by((Patient.user_id == user.id).desc(), Patient.id)
        .limit(1)
    )
    patient = db.execute(stmt).scalar_one_or_none()
    due: list[DueLink] = []
    if patient is not None:
        now = utcnow()
        links = db.execute(
            select(Invitation)
            .where(
                Invitation.patient_id == patient.id,
                Invitation.used_at.is_(None),
                Invitation.due_at <= now,
                Invitation.expires_at > now,
            )
            .order_by(Invitation.due_at)
        ).scalars()
        due = [
            DueLink(_name(i.instrument_id), i.due_at, i.expires_at, i.sent_at is not None)
            for i in links
        ]
        record(db, user, "read", "patient_home", patient.id, patient.id, client=client_ip(request))
    ctx = {"clinic": clinic, "patient": patient, "due": due}
    return render(request, "patient_home.html", ctx)
