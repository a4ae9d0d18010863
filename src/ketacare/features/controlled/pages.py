"""Controlled-substance pages: the dashboard (stock, open cases with the DEA timers) and the
administration log with its CSV and PDF downloads (every export audited)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep
from ketacare.features._kit.errors import KetacareError
from ketacare.features._kit.templating import render
from ketacare.features.auth.deps import PageActor
from ketacare.features.controlled import exports, queries, records, service
from ketacare.features.controlled.deps import TzDep

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/cs", response_class=HTMLResponse)
def dashboard(request: Request, actor: PageActor, db: DbDep, now: NowDep, tz: TzDep) -> Response:
    """Registrations, containers on hand with their balances, open discrepancy cases."""
    today = now.astimezone(exports.zone(tz)).date()
    context = {
        "registrations": queries.registrations(db, actor.clinic_id),
        "containers": [exports.container_out(c) for c in queries.containers(db, actor.clinic_id)],
        "cases": records.open_cases(db, actor.clinic_id, today),
        "today": today,
        "week_ago": today - timedelta(days=6),
    }
    return render(request, "controlled/dashboard.html", context)


@router.get("/cs/log", response_class=HTMLResponse)
def log_page(
    request: Request,
    actor: PageActor,
    db: DbDep,
    tz: TzDep,
    registration_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
    start: Annotated[date, Query()],
    end: Annotated[date, Query()],
    format: Literal["html", "csv", "pdf"] = "html",
) -> Response:
    """The log of one registration for a date range (clinic days)."""
    try:
        service.check_date(start, "start")
        service.check_date(end, "end")
        rows = records.administration_log(db, actor, tz, registration_id, start, end)
    except KetacareError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        return render(request, "controlled/log.html", {"rows": [], "error": exc.reason,
                      "registration_id": registration_id, "start": start, "end": end},
                      status_code=exc.status_code)  # fmt: skip
    if format != "html":
        return exports.log_file(db, actor, registration_id, start, end, rows, format, tz)
    context = {"rows": rows, "registration_id": registration_id, "start": start, "end": end}
    return render(request, "controlled/log.html", context)
