"""Login and logout pages."""

from __future__ import annotations

import math
import secrets
from datetime import datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.features._kit.csrf import CSRF_COOKIE, verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep, client_ip
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.templating import render
from ketacare.features.auth import service, throttle
from ketacare.features.auth.deps import SESSION_COOKIE, OptionalPageUser, PageUser, session_policy
from ketacare.features.auth.models import Role, User
from ketacare.settings import Settings

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _safe_next(target: str) -> str:
    """Only same-site relative paths may follow a login (no open redirect)."""
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/home"
    return target


#: Pages a patient account may open; any other target sends a patient to their own page
#: (staff pages would answer 403).
PATIENT_PAGES = ("/me", "/account", "/a/", "/screen")
#: Pages the front desk opens; any other target (a session, a note) sends it to its home.
FRONT_DESK_PAGES = ("/home", "/scheduling", "/patients", "/leads", "/account", "/screen")


def _landing(user: User, target: str) -> str:
    """Where ``user`` goes after login: ``target`` if their role can open it."""
    target = _safe_next(target)
    if user.role == Role.patient and not target.startswith(PATIENT_PAGES):
        return "/me"
    if user.role == Role.billing and not target.startswith(("/billing", "/account")):
        return "/billing"
    if user.role == Role.frontdesk and not target.startswith(FRONT_DESK_PAGES):
        return "/home"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_form(
    request: Request,
    user: OptionalPageUser,
    next: str = "/home",
    reset: Annotated[int, Query(ge=0, le=1)] = 0,
) -> Response:
    """The login page (already logged-in users go straight on); ``reset=1`` after a password
    was set through an e-mailed reset link."""
    if user is not None:
        return RedirectResponse(_landing(user, next), status_code=303)
    notice = "Your password was changed. Log in with the new one." if reset else ""
    ctx = {"next": _safe_next(next), "email": "", "notice": notice}
    return render(request, "auth/login.html", ctx)


def throttle_policy(settings: Settings) -> throttle.ThrottlePolicy:
    """The failed-login throttling configured for this installation."""
    return throttle.ThrottlePolicy(
        address_threshold=settings.login_rate_limit,
        pair_threshold=settings.lockout_threshold,
        base=timedelta(seconds=settings.lockout_base_s),
        maximum=timedelta(seconds=settings.lockout_max_s),
        quiet=timedelta(seconds=settings.login_rate_window_s),
    )


def _refused(
    request: Request, next: str, email: str, until: datetime | None, now: datetime
) -> Response:
    """401 for a wrong login, 429 while throttled; the form keeps the email either way."""
    ctx = {"next": _safe_next(next), "email": email, "error": "Email or password is wrong."}
    if until is None:
        return render(request, "auth/login.html", ctx, status_code=401)
    wait = max(1, math.ceil((until - now).total_seconds()))
    ctx["error"] = f"Too many failed logins. Wait {wait} seconds, then try again."
    response = render(request, "auth/login.html", ctx, status_code=429)
    response.headers["Retry-After"] = str(wait)
    return response


@router.post("/login", response_class=HTMLResponse)
def login(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
    email: Annotated[str, Form(max_length=320)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/home",
) -> Response:
    """Check credentials and open a session. Only failures count towards throttling
    (per address, and per email and address, with back-off; see ``auth.throttle``)."""
    if not email.strip() or not password:
        return _refused(request, next, email, None, now)  # nothing was guessed: not counted
    secret = settings.secret_key.get_secret_value()
    keys = throttle.keys(secret, email, client_ip(request))
    until = throttle.blocked_until(db, keys, now)
    if until is not None:
        return _refused(request, next, email, until, now)
    user = service.authenticate(db, email, password, release=db.commit).user
    if user is None:
        throttle.record_failure(db, keys, throttle_policy(settings), now)
        return _refused(request, next, email, None, now)
    throttle.record_success(db, keys)
    token = service.start_session(db, secret, user, session_policy(settings), now)
    response = RedirectResponse(_landing(user, next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(settings.session_max_age_hours * 3600),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    # A new CSRF token with the new login: one planted or seen before it is worth nothing.
    response.set_cookie(
        CSRF_COOKIE,
        secrets.token_urlsafe(32),
        httponly=True,
        samesite="lax",
        secure=settings.secure_cookies,
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, db: DbDep, settings: SettingsDep, now: NowDep) -> Response:
    """Close this session."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        service.revoke(db, settings.secret_key.get_secret_value(), token, now)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account", response_class=HTMLResponse)
def account_page(request: Request, user: PageUser) -> Response:
    """Change password; log out on every device."""
    return render(request, "auth/account.html", {"errors": {}, "done": ""})


@router.post("/account/password", response_class=HTMLResponse)
def change_password(
    request: Request, form: FormFields, user: PageUser, db: DbDep, settings: SettingsDep
) -> Response:
    """Change the password (the current one is required); other sessions are ended."""
    this_session = service.token_hash(
        settings.secret_key.get_secret_value(), request.cookies.get(SESSION_COOKIE, "")
    )
    try:
        service.change_password(
            db,
            user,
            form.get("current_password", ""),
            form.get("new_password", ""),
            keep_session=this_session,
        )
    except service.AccountError as exc:
        ctx = {"errors": {exc.field: exc.reason}, "done": ""}
        return render(request, "auth/account.html", ctx, status_code=422)
    done = "Password changed. Every other session of your account was logged out."
    return render(request, "auth/account.html", {"errors": {}, "done": done})


@router.post("/account/logout-all")
def logout_everywhere(user: PageUser, db: DbDep, now: NowDep) -> Response:
    """Close every session of this account (shared workstations, lost devices)."""
    service.revoke_all_sessions(db, user, now=now)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
