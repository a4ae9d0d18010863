"""The audit log for admins, filtered by patient or user."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep
from ketacare.features._kit.params import MAX_ID
from ketacare.features._kit.templating import render
from ketacare.features.audit import queries
from ketacare.features.auth.deps import PageAdmin

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _patient_ids(db: DbDep, clinic_id: int, text: str) -> tuple[list[int] | None, str]:
    """The patient filter: an id, or a name (part of the given or family name, or the record
    number) matched in the clinic; (None, "") without a filter, ([], error) when unusable."""
    value = text.strip()
    if not value:
        return None, ""
    if value.isdigit():
        number = int(value)
        if not 1 <= number <= MAX_ID:
            return [], f"no patient id {value}"
        return [number], ""
    if len(value) < 2:
        return [], "type at least 2 letters of the name, or the patient id"
    ids = queries.patients_named(db, clinic_id, value)
    return ids, "" if ids else f"no patient matches '{value}'"


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    user: PageAdmin,
    db: DbDep,
    patient: Annotated[str, Query(max_length=200)] = "",
    actor: Annotated[str, Query(max_length=320)] = "",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    """Newest events of the admin's clinic first (filters: patient id or name, user email).
    A filter that matches nothing comes back in the form with its error (422)."""
    ids, error = _patient_ids(db, user.clinic_id, patient)
    ctx: dict[str, object] = {"patient": patient, "actor": actor, "errors": {}}
    if error:
        ctx |= {"events": [], "errors": {"patient": error}}
        return render(request, "audit/list.html", ctx, status_code=422)
    ctx["events"] = queries.clinic_events(db, user.clinic_id, ids, actor.strip().lower(), limit)
    return render(request, "audit/list.html", ctx)
