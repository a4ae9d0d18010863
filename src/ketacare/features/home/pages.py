"""``/home``: each role's first screen (issue 21.2); ``/home/badges.json``: the header's nav
badge counts, polled by ``static/badges.js`` (issue 21.8).

``/`` and the login send a signed-in user here; patients go on to ``/me``, the billing
office to its work queue ``/billing``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep, client_ip
from ketacare.features._kit.templating import page_tz, render
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import PageUser
from ketacare.features.auth.models import Role
from ketacare.features.home import service
from ketacare.features.sessions.config import safety_config
from ketacare.features.sessions.context import RefreshActor
from ketacare.features.sessions.steps import Ctx

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

HOME = "/home"

#: Roles whose home is another feature's page.
ELSEWHERE = {Role.patient: "/me", Role.billing: "/billing"}


@router.get(HOME, response_class=HTMLResponse)
def home_page(
    request: Request, user: PageUser, db: DbDep, settings: SettingsDep, now: NowDep
) -> Response:
    """The signed-in user's home: nurse, clinician, admin and front desk each see their own
    page."""
    if user.role in ELSEWHERE:
        return RedirectResponse(ELSEWHERE[user.role], status_code=303)
    actor = Actor.for_user(user, "page", client_ip(request))
    if user.role == Role.frontdesk:
        desk = service.frontdesk_home(db, actor, now, page_tz(request))
        return render(request, "home/frontdesk.html", {"h": desk, "now": now})
    if user.role == Role.admin:
        admin = service.admin_home(db, actor, settings, now)
        return render(request, "home/admin.html", {"h": admin, "now": now})
    c = Ctx(db, actor, settings, safety_config(settings), now, page_tz(request))
    if user.role == Role.nurse:
        return render(request, "home/nurse.html", {"h": service.nurse_home(c), "now": now})
    return render(request, "home/clinician.html", {"h": service.clinician_home(c), "now": now})


@router.get(HOME + "/badges.json")
def badges(actor: RefreshActor, db: DbDep, now: NowDep) -> JSONResponse:
    """Counts for the header's badges: ``{key: {"count": n, "text": "n open"}}``.

    Counts only (no patient data, so not audited); the poll does not count as activity, so
    an unattended screen still logs out when idle.
    """
    counts = service.badge_counts(db, actor, now)
    body = {key: {"count": n, "text": f"{n} {service.BADGES[key]}"} for key, n in counts.items()}
    return JSONResponse(body)  # the middleware marks every response no-store
