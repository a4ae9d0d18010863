"""Admin use cases: the clinic's users, their API tokens and the clinic's settings.

Each one acts in the admin's own clinic (another clinic's user is a 404), reuses the services
the CLI runs (``auth.service``, ``clinics.service``) and writes its own audit event. Bad input
raises ``BadRequest`` naming the form field; nothing is written then (the request rolls back).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from ketacare.features._kit.errors import BadRequest, NotFound
from ketacare.features.admin import queries
from ketacare.features.audit.service import record
from ketacare.features.auth import service as accounts
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import AuthToken, Role, User
from ketacare.features.clinics import service as clinics
from ketacare.features.clinics.models import Clinic

#: Roles an admin gives in the browser (patient accounts belong to patient records).
ASSIGNABLE_ROLES: tuple[Role, ...] = (
    Role.admin,
    Role.clinician,
    Role.nurse,
    Role.billing,
    Role.frontdesk,
)
MAX_NAME = 200


def _clinic_id(actor: Actor) -> int:
    assert actor.user is not None  # admin pages: a signed-in admin
    return actor.user.clinic_id


def _role(text: str) -> Role:
    try:
        role = Role(text.strip())
    except ValueError:
        role = None
    if role not in ASSIGNABLE_ROLES:
        allowed = ", ".join(r.value for r in ASSIGNABLE_ROLES)
        raise BadRequest(f"must be one of {allowed}", "role")
    assert role is not None
    return role


def _display_name(text: str) -> str:
    name = " ".join(text.split())
    if len(name) > MAX_NAME:
        raise BadRequest(f"must be at most {MAX_NAME} characters", "display_name")
    return name


def list_users(db: Session, actor: Actor) -> list[User]:
    """The admin's clinic's accounts (audited as a list)."""
    users = queries.clinic_users(db, _clinic_id(actor))
    record(db, actor, "list", "user")
    return users


def get_user(db: Session, actor: Actor, user_id: int) -> User:
    """One account of the admin's clinic, else NotFound (another clinic's too)."""
    user = queries.user_in_clinic(db, _clinic_id(actor), user_id)
    if user is None:
        raise NotFound("no such user")
    return user


@dataclass(frozen=True, slots=True)
class Issued:
    """An account and the secret (password or token) to show once."""

    user: User
    secret: str


def create_user(db: Session, actor: Actor, email: str, role: str, display_name: str) -> Issued:
    """Create an account in the admin's clinic with a temporary password (shown once)."""
    clinic = clinics.clinic_by_id(db, _clinic_id(actor))
    wanted = _role(role)
    name = _display_name(display_name)
    password = accounts.temporary_password()
    try:
        user = accounts.create_user(db, clinic, email, wanted, password)
    except accounts.AccountError as exc:
        raise BadRequest(exc.reason, exc.field) from None
    user.display_name = name
    db.flush()
    record(db, actor, "create", "user", user.id)
    return Issued(user, password)


def set_role(db: Session, actor: Actor, user_id: int, role: str) -> User:
    """Change an account's role (never leaving the clinic without an active admin)."""
    user = get_user(db, actor, user_id)
    wanted = _role(role)
    if user.role == Role.patient:
        raise BadRequest("a patient's account keeps the patient role", "role")
    if wanted == user.role:
        return user
    before = user.role.value
    try:
        accounts.change_role(db, user, wanted, actor.user_id)
    except accounts.AccountError as exc:
        raise BadRequest(exc.reason, exc.field) from None
    record(db, actor, "update", "user", f"{user.id}:role:{before}->{wanted.value}")
    return user


def set_active(db: Session, actor: Actor, user_id: int, active: str, now: datetime) -> User:
    """Deactivate (``active`` "0") or reactivate ("1") an account."""
    user = get_user(db, actor, user_id)
    if active not in ("0", "1"):
        raise BadRequest("must be 0 (deactivate) or 1 (reactivate)", "active")
    wanted = active == "1"
    if wanted == user.is_active:
        return user
    try:
        accounts.set_active(db, user, wanted, now, actor.user_id)
    except accounts.AccountError as exc:
        raise BadRequest(exc.reason, exc.field) from None
    record(db, actor, "update", "user", f"{user.id}:{'reactivate' if wanted else 'deactivate'}")
    return user


def reset_password(db: Session, actor: Actor, user_id: int, now: datetime) -> Issued:
    """A new temporary password for the account (shown once); its sessions end."""
    user = get_user(db, actor, user_id)
    if not user.is_active:
        raise BadRequest("the account is deactivated: reactivate it first", "user")
    password = accounts.reset_password(db, user, now)
    record(db, actor, "update", "user", f"{user.id}:password-reset")
    return Issued(user, password)


def user_tokens(db: Session, actor: Actor, user: User) -> list[AuthToken]:
    """The account's API tokens, newest first (never their secrets: only hashes are kept)."""
    tokens = accounts.api_tokens(db, user)
    record(db, actor, "list", "api_token", user.id)
    return tokens


def create_token(db: Session, actor: Actor, secret_key: str, user_id: int, name: str) -> Issued:
    """A new personal API token for the account (the token is shown once)."""
    user = get_user(db, actor, user_id)
    if not user.is_active:
        raise BadRequest("the account is deactivated: reactivate it first", "name")
    if len(name.strip()) > MAX_NAME:
        raise BadRequest(f"must be at most {MAX_NAME} characters", "name")
    try:
        token = accounts.create_api_token(db, secret_key, user, name)
    except accounts.AccountError as exc:
        raise BadRequest(exc.reason, exc.field) from None
    record(db, actor, "create", "api_token", user.id)
    return Issued(user, token)


def revoke_token(db: Session, actor: Actor, user_id: int, token_id: int, now: datetime) -> None:
    """Revoke one of the account's API tokens."""
    user = get_user(db, actor, user_id)
    if not accounts.revoke_api_token(db, user, token_id, now):
        raise NotFound("no such active token", "token")
    record(db, actor, "revoke", "api_token", f"{user.id}:{token_id}")


@dataclass(frozen=True, slots=True)
class SettingsInput:
    """The clinic settings form as typed."""

    timezone: str
    contact_text: str
    disabled: frozenset[str]
    mcid: Mapping[str, str]


def clinic_settings(db: Session, actor: Actor) -> Clinic:
    """The admin's clinic (its settings)."""
    return clinics.clinic_by_id(db, _clinic_id(actor))


def update_settings(db: Session, actor: Actor, data: SettingsInput) -> Clinic:
    """Store the clinic's time zone, contact text and alert rules (all or nothing)."""
    clinic = clinics.clinic_by_id(db, _clinic_id(actor))
    try:  # every field is checked before any is changed
        zone = clinics.valid_timezone(data.timezone)
        contact = clinics.valid_contact(data.contact_text)
        mcid = {iid: clinics.parse_mcid(iid, text) for iid, text in data.mcid.items()}
        clinics.check_alert_rules(data.disabled, mcid)
        clinics.set_timezone(clinic, zone)
        clinics.set_contact(clinic, contact)
        rules = clinics.set_alert_rules(clinic, data.disabled, mcid)
    except clinics.SettingError as exc:
        raise BadRequest(exc.reason, exc.field) from None
    db.flush()
    off = ",".join(sorted(rules.disabled)) or "none"
    record(db, actor, "update", "clinic", f"{clinic.id}:tz={zone or 'default'};off={off}")
    return clinic
