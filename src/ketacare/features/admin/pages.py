"""Admin pages: users, their API tokens and the clinic settings; the referral letter; the
e-mailed password reset ("Forgot your password?" on the login page, public).

Admin pages take ``PageAdminActor`` (403 for any other role); every form posts the CSRF
token (the router's dependency checks it). A refused form comes back with the field named
(422); nothing was written (the services check everything before they change anything).
"""

from __future__ import annotations

import math
from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep, client_ip
from ketacare.features._kit.errors import BadRequest, Forbidden, NotFound, RateLimited
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import render
from ketacare.features.admin import reset, service
from ketacare.features.admin.letter import referral_letter
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import PageActor, PageAdminActor
from ketacare.features.auth.models import Role, User
from ketacare.features.clinics import service as clinics
from ketacare.features.patients.deps import PagePatient
from ketacare.settings import Settings

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


def _users_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    *,
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    issued: service.Issued | None = None,
    status_code: int = 200,
) -> Response:
    ctx: dict[str, Any] = {
        "users": service.list_users(db, actor),
        "roles": [r.value for r in service.ASSIGNABLE_ROLES],
        "form": form or {"email": "", "display_name": "", "role": "clinician"},
        "errors": errors or {},
        "issued": issued,
    }
    return render(request, "admin/users.html", ctx, status_code=status_code)


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, db: DbDep, actor: PageAdminActor) -> Response:
    """The clinic's accounts and the form that adds one."""
    return _users_page(request, db, actor)


@router.post("/admin/users", response_class=HTMLResponse)
def create_user(request: Request, db: DbDep, actor: PageAdminActor, form: FormFields) -> Response:
    """Add an account; its temporary password is shown once, on this answer only."""
    typed = {k: form.get(k, "") for k in ("email", "display_name", "role")}
    try:
        issued = service.create_user(
            db, actor, typed["email"], typed["role"], typed["display_name"]
        )
    except BadRequest as exc:
        errors = {exc.field or "form": exc.reason}
        return _users_page(request, db, actor, form=typed, errors=errors, status_code=422)
    return _users_page(request, db, actor, issued=issued)


def _user_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    user: User,
    *,
    errors: dict[str, str] | None = None,
    issued: service.Issued | None = None,
    secret_kind: str = "",
    token_name: str = "",
    status_code: int = 200,
    link_sent: bool = False,
    link_minutes: float = 0,
) -> Response:
    ctx: dict[str, Any] = {
        "link_sent": link_sent,
        "link_minutes": link_minutes,
        "account": user,
        "tokens": service.user_tokens(db, actor, user),
        "roles": [r.value for r in service.ASSIGNABLE_ROLES],
        "errors": errors or {},
        "issued": issued,
        "secret_kind": secret_kind,
        "token_name": token_name,
        "is_self": user.id == actor.user_id,
    }
    return render(request, "admin/user.html", ctx, status_code=status_code)


@router.get("/admin/users/{user_id}", response_class=HTMLResponse)
def user_page(request: Request, user_id: RowId, db: DbDep, actor: PageAdminActor) -> Response:
    """One account: role, active, password reset and API tokens."""
    return _user_page(request, db, actor, service.get_user(db, actor, user_id))


def _refused(request: Request, db: DbDep, actor: Actor, user_id: int, exc: BadRequest,
             **kw: Any) -> Response:  # fmt: skip
    user = service.get_user(db, actor, user_id)
    errors = {exc.field or "form": exc.reason}
    return _user_page(request, db, actor, user, errors=errors, status_code=422, **kw)


@router.post("/admin/users/{user_id}/role", response_class=HTMLResponse)
def change_role(
    request: Request, user_id: RowId, db: DbDep, actor: PageAdminActor, form: FormFields
) -> Response:
    """Give the account another role."""
    try:
        service.set_role(db, actor, user_id, form.get("role", ""))
    except BadRequest as exc:
        return _refused(request, db, actor, user_id, exc)
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


@router.post("/admin/users/{user_id}/active", response_class=HTMLResponse)
def change_active(
    request: Request,
    user_id: RowId,
    db: DbDep,
    actor: PageAdminActor,
    now: NowDep,
    form: FormFields,
) -> Response:
    """Deactivate or reactivate the account."""
    try:
        service.set_active(db, actor, user_id, form.get("active", ""), now)
    except BadRequest as exc:
        return _refused(request, db, actor, user_id, exc)
    return RedirectResponse(f"/admin/users/{user_id}", status_code=303)


@router.post("/admin/users/{user_id}/password", response_class=HTMLResponse)
def reset_password(
    request: Request, user_id: RowId, db: DbDep, actor: PageAdminActor, now: NowDep
) -> Response:
    """A new temporary password, shown once on this answer; the account's sessions end."""
    try:
        issued = service.reset_password(db, actor, user_id, now)
    except BadRequest as exc:
        return _refused(request, db, actor, user_id, exc)
    return _user_page(request, db, actor, issued.user, issued=issued, secret_kind="password")


@router.post("/admin/users/{user_id}/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    user_id: RowId,
    db: DbDep,
    actor: PageAdminActor,
    settings: SettingsDep,
    form: FormFields,
) -> Response:
    """A new personal API token for the account, shown once on this answer."""
    name = form.get("name", "")
    try:
        secret = settings.secret_key.get_secret_value()
        issued = service.create_token(db, actor, secret, user_id, name)
    except BadRequest as exc:
        return _refused(request, db, actor, user_id, exc, token_name=name)
    return _user_page(request, db, actor, issued.user, issued=issued, secret_kind="token")


@router.post("/admin/users/{user_id}/tokens/{token_id}/revoke")
def revoke_token(
    user_id: RowId, token_id: RowId, db: DbDep, actor: PageAdminActor, now: NowDep
) -> Response:
    """Revoke one API token of the account (it stops working at once)."""
    service.revoke_token(db, actor, user_id, token_id, now)
    return RedirectResponse(f"/admin/users/{user_id}#tokens", status_code=303)


def _settings_page(
    request: Request,
    db: DbDep,
    actor: Actor,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    saved: bool = False,
    status_code: int = 200,
) -> Response:
    clinic = service.clinic_settings(db, actor)
    if form is None:
        rules = clinics.alert_rules(clinic)
        form = {
            "timezone": clinic.timezone or "",
            "contact_text": clinic.contact_text,
            "disabled": set(rules.disabled),
            "mcid": {k: f"{v:g}" for k, v in rules.mcid.items()},
        }
    ctx: dict[str, Any] = {
        "clinic": clinic,
        "form": form,
        "errors": errors or {},
        "saved": saved,
        "rules": clinics.SWITCHABLE_RULES,
        "mcid_instruments": [
            (iid, clinics.default_mcid_of(iid)) for iid in clinics.MCID_INSTRUMENTS
        ],
        "max_contact": clinics.MAX_CONTACT,
    }
    return render(request, "admin/settings.html", ctx, status_code=status_code)


@router.get("/admin/settings", response_class=HTMLResponse)
def settings_page(
    request: Request, db: DbDep, actor: PageAdminActor, saved: Annotated[int, Query(le=1)] = 0
) -> Response:
    """The clinic's time zone, contact text and alert rules."""
    return _settings_page(request, db, actor, saved=bool(saved))


@router.post("/admin/settings", response_class=HTMLResponse)
def save_settings(request: Request, db: DbDep, actor: PageAdminActor, form: FormFields) -> Response:
    """Store the settings (all or nothing)."""
    disabled = frozenset(r for r in clinics.SWITCHABLE_RULES if form.get(f"off_{r}") == "on")
    mcid = {iid: form.get(f"mcid_{iid}", "") for iid in clinics.MCID_INSTRUMENTS}
    data = service.SettingsInput(
        form.get("timezone", ""), form.get("contact_text", ""), disabled, mcid
    )
    try:
        service.update_settings(db, actor, data)
    except BadRequest as exc:
        typed = {
            "timezone": data.timezone,
            "contact_text": data.contact_text,
            "disabled": set(disabled),
            "mcid": mcid,
        }
        errors = {exc.field or "form": exc.reason}
        return _settings_page(request, db, actor, form=typed, errors=errors, status_code=422)
    return RedirectResponse("/admin/settings?saved=1", status_code=303)


@router.get("/patients/{patient_id}/letter", response_class=HTMLResponse)
def letter_page(
    request: Request,
    patient: PagePatient,
    db: DbDep,
    actor: PageActor,
    now: NowDep,
    to: Annotated[str, Query(max_length=300)] = "",
) -> Response:
    """The letter to the patient's referring clinician, signed by the clinician opening it
    (print it from the browser: the print stylesheet leaves the letter only)."""
    assert actor.user is not None
    if actor.user.role != Role.clinician:
        raise Forbidden("only a clinician may write and sign a letter (your role: "
                        f"{actor.user.role.value})")  # fmt: skip
    letter = referral_letter(db, actor, patient, to, now)
    return render(request, "admin/letter.html", {"letter": letter, "patient": patient})


# --- e-mailed password reset (issue 21.8; admin/reset.py) ---------------------------------


def _sentence(reason: str) -> str:
    return reason[:1].upper() + reason[1:] + "."


def _minutes(settings: Settings) -> float | int:
    m = settings.password_reset_minutes
    return int(m) if m == int(m) else m


def _forgot_page(
    request: Request, email: str = "", error: str = "", status_code: int = 200
) -> Response:
    ctx = {"email": email, "error": error, "sent": False}
    return render(request, "admin/forgot.html", ctx, status_code=status_code)


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_form(request: Request) -> Response:
    """ "Forgot your password?": one e-mail address."""
    return _forgot_page(request)


@router.post("/password/forgot", response_class=HTMLResponse)
def forgot(
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
    tasks: BackgroundTasks,
    email: Annotated[str, Form(max_length=320)] = "",
) -> Response:
    """Send a reset link when the address is an active staff account's; answer the same way
    whatever it is (422 for a malformed address, 429 over the rate limits)."""
    ip = client_ip(request)
    try:
        mail = reset.request_reset(db, Actor.anonymous("public", ip), settings, email, ip, now)
    except BadRequest as exc:
        return _forgot_page(request, email, f"E-mail address {exc.reason}.", 422)
    except RateLimited as exc:
        response = _forgot_page(request, email, _sentence(exc.reason), 429)
        window = settings.password_reset_rate_window_s
        response.headers["Retry-After"] = str(window - math.floor(now.timestamp()) % window)
        return response
    if mail is not None:  # sent after the commit; the answer does not wait for the mail server
        tasks.add_task(reset.deliver, settings, mail)
    ctx = {"email": "", "error": "", "sent": True, "minutes": _minutes(settings)}
    return render(request, "admin/forgot.html", ctx)


def _reset_page(
    request: Request,
    token: str,
    email: str = "",
    errors: dict[str, str] | None = None,
    problem: str = "",
    status_code: int = 200,
) -> Response:
    ctx = {"token": token, "email": email, "errors": errors or {}, "problem": problem}
    return render(request, "admin/reset.html", ctx, status_code=status_code)


@router.get(reset.LINK_PATH + "{token}", response_class=HTMLResponse)
def reset_form(
    token: str, request: Request, db: DbDep, settings: SettingsDep, now: NowDep
) -> Response:
    """The link's page: the new password form (a GET never spends the link)."""
    try:
        email = reset.reset_email(db, settings, token, now)
    except (NotFound, reset.ResetGone) as exc:
        return _reset_page(request, "", problem=_sentence(exc.reason),
                           status_code=exc.status_code)  # fmt: skip
    return _reset_page(request, token, email)


@router.post(reset.LINK_PATH + "{token}", response_class=HTMLResponse)
def reset_submit(
    token: str,
    request: Request,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
    form: FormFields,
) -> Response:
    """Set the new password through the link, once; then to the login page."""
    new, confirm = form.get("new_password", ""), form.get("confirm_password", "")
    try:
        reset.complete_reset(db, settings, token, new, confirm, client_ip(request), now)
    except (NotFound, reset.ResetGone) as exc:
        return _reset_page(request, "", problem=_sentence(exc.reason),
                           status_code=exc.status_code)  # fmt: skip
    except BadRequest as exc:
        email = reset.reset_email(db, settings, token, now)
        errors = {exc.field or "new_password": exc.reason}
        return _reset_page(request, token, email, errors, status_code=422)
    return RedirectResponse("/login?reset=1", status_code=303)


@router.post("/admin/users/{user_id}/password-link", response_class=HTMLResponse)
def send_reset_link(
    request: Request,
    user_id: RowId,
    db: DbDep,
    actor: PageAdminActor,
    settings: SettingsDep,
    now: NowDep,
    tasks: BackgroundTasks,
) -> Response:
    """E-mail the account a reset link (its password keeps working until the link is used)."""
    user = service.get_user(db, actor, user_id)
    try:
        mail = reset.send_reset(db, actor, settings, user, now)
    except BadRequest as exc:
        return _refused(request, db, actor, user_id, exc)
    tasks.add_task(reset.deliver, settings, mail)
    return _user_page(request, db, actor, user, link_sent=True,
                      link_minutes=_minutes(settings))  # fmt: skip
