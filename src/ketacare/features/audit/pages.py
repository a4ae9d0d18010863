"""The audit log for admins, filtered by patient or user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import or_, select

from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep
from ketacare.features._kit.params import OptionalRowIdQuery
from ketacare.features._kit.templating import render
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.deps import PageAdmin

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user: PageAdmin,
    db: DbDep,
    patient: OptionalRowIdQuery = None,
    actor: str = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    """Newest events of the admin's clinic first (filters: patient id, user email)."""
    stmt = select(AuditEvent).where(AuditEvent.clinic_id == user.clinic_id)
    if patient is not None:
        stmt = stmt.where(
            or_(AuditEvent.patient_id == patient, AuditEvent.patients.contains(f",{patient},"))
        )
    if actor.strip():
        stmt = stmt.where(AuditEvent.actor_email == actor.strip().lower())
    events = list(db.execute(stmt.order_by(AuditEvent.seq.desc()).limit(limit)).scalars())
    ctx = {"events": events, "patient": patient, "actor": actor}
    return render(request, "audit/list.html", ctx)
