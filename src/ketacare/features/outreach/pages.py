"""The overdue list page: who has not answered which assessment link."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep
from ketacare.features._kit.params import DaysQuery
from ketacare.features._kit.templating import render
from ketacare.features.auth.deps import PageActor
from ketacare.features.outreach import service as outreach

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/overdue", response_class=HTMLResponse)
def overdue_page(
    request: Request, actor: PageActor, db: DbDep, now: NowDep, days: DaysQuery = 90
) -> Response:
    """Who has not completed what: due, unanswered assessments of the clinic."""
    rows = outreach.overdue_for(db, actor, now, days)
    return render(request, "outreach/overdue.html", {"rows": rows, "days": days})
