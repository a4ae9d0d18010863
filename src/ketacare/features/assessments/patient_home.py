"""The patient's home page after login (``/me``): their open questionnaire links and how to
reach the clinic. The full patient portal is a later issue; until then a patient account
lands here instead of on a staff page (403)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments.loader import get_instrument
from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep
from ketacare.features._kit.templating import render
from ketacare.features.assessments import service
from ketacare.features.auth.deps import PageUserActor
from ketacare.features.auth.models import Role

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
def patient_home(request: Request, actor: PageUserActor, db: DbDep, now: NowDep) -> Response:
    """The logged-in patient's page (staff go to their own start page)."""
    assert actor.user is not None
    if actor.user.role != Role.patient:
        return RedirectResponse("/home", status_code=303)
    home = service.patient_home(db, actor, now)
    due = [
        DueLink(_name(i.instrument_id), i.due_at, i.expires_at, i.sent_at is not None)
        for i in home.links
    ]
    ctx = {"clinic": home.clinic, "patient": home.patient, "due": due}
    return render(request, "patient_home.html", ctx)
