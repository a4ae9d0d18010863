"""Admin pages: users, their API tokens and the clinic settings; the referral letter.

Admin pages take ``PageAdminActor`` (403 for any other role); every form posts the CSRF
token (the router's dependency checks it). A refused form comes back with the field named
(422); nothing was written (the services check everything before they change anything).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from ketacare.features._kit.csrf import verify_csrf
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.errors import BadRequest, Forbidden
from ketacare.features._kit.forms import FormFields
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import render
from ketacare.features.admin import service
from ketacare.features.admin.letter import referral_letter
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import PageActor, PageAdminActor
from ketacare.features.auth.models import Role, User
from ketacare.features.clinics import service as clinics
from ketacare.features.patients.deps import PagePatient

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
) -> Response:
    ctx: dict[str, Any] = {
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
