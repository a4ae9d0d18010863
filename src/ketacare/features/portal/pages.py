"""The patient portal's pages: "Patient sign-in" (an e-mailed one-time link), the link's
sign-in button, and the patient's own page (``/me``)."""

from __future__ import annotations

import math
import secrets
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.features._kit.csrf import CSRF_COOKIE, verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep, client_ip
from ketacare.features._kit.errors import (
    BadRequest,
    Forbidden,
    KetacareError,
    NotFound,
    RateLimited,
)
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import page_tz, render
from ketacare.features.auth import service as accounts
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import (
    SESSION_COOKIE,
    OptionalPageUser,
    PageUserActor,
    session_policy,
)
from ketacare.features.auth.models import Role
from ketacare.features.outreach.service import LinkGone as QuestionnaireGone
from ketacare.features.portal import service

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

PATIENT_HOME = "/me"
SIGN_IN = "/portal/sign-in"


def _sentence(reason: str) -> str:
    return reason[:1].upper() + reason[1:] + "."


def _sign_in_page(
    request: Request, email: str = "", error: str = "", status_code: int = 200
) -> Response:
    ctx = {"email": email, "error": error}
    return render(request, "portal/sign_in.html", ctx, status_code=status_code)


@router.get(SIGN_IN, response_class=HTMLResponse)
def sign_in_form(request: Request, user: OptionalPageUser) -> Response:
    """The form: one e-mail address (a signed-in patient goes straight to their page)."""
    if user is not None and user.role == Role.patient:
        return RedirectResponse(PATIENT_HOME, status_code=303)
    return _sign_in_page(request)


@router.post(SIGN_IN, response_class=HTMLResponse)
def sign_in(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
    tasks: BackgroundTasks,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Send a link when the address is a patient's; answer the same way whatever it is."""
    ip = client_ip(request)
    try:
        mail = service.request_link(db, Actor.anonymous("public", ip), settings, email, ip, now)
    except BadRequest as exc:
        return _sign_in_page(request, email, f"E-mail address {exc.reason}.", 422)
    except RateLimited as exc:
        response = _sign_in_page(request, email, _sentence(exc.reason), 429)
        wait = (
            settings.portal_rate_window_s
            - math.floor(now.timestamp()) % settings.portal_rate_window_s
        )
        response.headers["Retry-After"] = str(wait)
        return response
    if mail is not None:  # sent after the commit; the answer does not wait for the mail server
        tasks.add_task(service.deliver, settings, mail)
    minutes = settings.portal_link_minutes
    ctx = {"minutes": int(minutes) if minutes == int(minutes) else minutes}
    return render(request, "portal/sent.html", ctx)


def _link_problem(request: Request, reason: str, status_code: int) -> Response:
    ctx = {"reason": _sentence(reason)}
    return render(request, "portal/link_problem.html", ctx, status_code=status_code)


@router.get("/portal/link/{token}", response_class=HTMLResponse)
def link_page(
    token: str, request: Request, db: DbDep, settings: SettingsDep, now: NowDep
) -> Response:
    """The link's page: one button signs in (a GET never spends the link)."""
    try:
        service.open_link(db, settings, token, now)
    except (NotFound, service.LinkGone) as exc:
        return _link_problem(request, exc.reason, exc.status_code)
    return render(request, "portal/link.html", {"token": token})


@router.post("/portal/link/{token}", response_class=HTMLResponse)
def follow_link(
    token: str, request: Request, db: DbDep, settings: SettingsDep, now: NowDep
) -> Response:
    """Use the link once and open a login session for the patient's account."""
    secret = settings.secret_key.get_secret_value()
    try:
        user = service.redeem(db, settings, token, client_ip(request), now)
    except (NotFound, service.LinkGone) as exc:
        return _link_problem(request, exc.reason, exc.status_code)
    earlier = request.cookies.get(SESSION_COOKIE)
    if earlier:  # whoever was signed in on this browser is signed out
        accounts.revoke(db, secret, earlier, now)
    session = accounts.start_session(db, secret, user, session_policy(settings), now)
    response = RedirectResponse(PATIENT_HOME, status_code=303)
    secure = settings.secure_cookies
    max_age = int(settings.session_max_age_hours * 3600)
    response.set_cookie(SESSION_COOKIE, session, max_age=max_age, httponly=True, samesite="lax",
                        secure=secure, path="/")  # fmt: skip
    # A new CSRF token with the new login, as the password login does.
    response.set_cookie(CSRF_COOKIE, secrets.token_urlsafe(32), httponly=True, samesite="lax",
                        secure=secure, path="/")  # fmt: skip
    return response


@router.get(PATIENT_HOME, response_class=HTMLResponse)
def patient_home(
    request: Request, actor: PageUserActor, db: DbDep, settings: SettingsDep, now: NowDep
) -> Response:
    """The signed-in patient's own page (staff go to their own start page)."""
    assert actor.user is not None
    if actor.user.role != Role.patient:
        return RedirectResponse("/home", status_code=303)
    view = service.portal_view(db, actor, settings, now)
    return render(request, "portal/home.html", {"view": view, "error": ""})


@router.post(PATIENT_HOME + "/questionnaires/{invitation_id}")
def answer_now(
    invitation_id: RowId,
    request: Request,
    actor: PageUserActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> Response:
    """Open one of the patient's own due questionnaires now (a fresh one-time link)."""
    assert actor.user is not None
    if actor.user.role != Role.patient:
        raise Forbidden("only the patient answers their questionnaires")
    try:
        path = service.start_questionnaire(db, actor, settings, invitation_id, now)
    except QuestionnaireGone as exc:
        view = service.portal_view(db, actor, settings, now)
        ctx = {"view": view, "error": _sentence(exc.reason)}
        return render(request, "portal/home.html", ctx, status_code=410)
    return RedirectResponse(path, status_code=303)


@router.get(PATIENT_HOME + "/consent/{template_id}", response_class=HTMLResponse)
def consent_page(request: Request, template_id: RowId, actor: PageUserActor, db: DbDep) -> Response:
    """A consent to sign, with the signature box (the same page as the clinic's tablet)."""
    patient, template = service.consent_to_sign(db, actor, template_id)
    ctx = {
        "patient": patient,
        "template": template,
        "errors": [],
        "values": {},
        "sign_action": f"{PATIENT_HOME}/consent/{template.id}",
    }
    return render(request, "consent/sign.html", ctx)


@router.post(PATIENT_HOME + "/consent/{template_id}", response_class=HTMLResponse)
def consent_sign(
    request: Request,
    template_id: RowId,
    actor: PageUserActor,
    db: DbDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """Store the patient's own signature; back to their page."""
    try:
        with db.begin_nested():
            service.sign_consent(
                db, actor, template_id, form.get("typed_name", ""),
                form.get("attested") == "on", form.get("signature", ""), now, page_tz(request),
            )  # fmt: skip
    except KetacareError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        patient, template = service.consent_to_sign(db, actor, template_id)
        ctx = {
            "patient": patient,
            "template": template,
            "errors": [exc.detail()],
            "values": form,
            "sign_action": f"{PATIENT_HOME}/consent/{template.id}",
        }
        return render(request, "consent/sign.html", ctx, status_code=exc.status_code)
    return RedirectResponse(f"{PATIENT_HOME}?signed=1#to-sign", status_code=303)
