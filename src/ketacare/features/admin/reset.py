"""E-mailed staff password reset (issue 21.8): "Forgot your password?" on the login page, and
"E-mail a reset link" on the admin's user page.

A staff member types an e-mail address; if it is an active staff account, a single-use link
valid for ``KETACARE_PASSWORD_RESET_MINUTES`` (30 by default) is e-mailed through the outreach
notifier. The answer is the same whatever the address (no account enumeration); requests are
rate-limited per address and per e-mail typed. Only the token's HMAC is stored (as for login
sessions and API tokens). Opening the link shows a form and spends nothing (mail scanners
fetch links); setting a password through it uses the link once, retires the account's other
reset links, clears a lockout and ends every login session of the account. Patient accounts
sign in by the portal's link and are never sent one. Services flush, never commit; the mail
goes out after the commit (``deliver``, from a background task).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from ketacare.features._kit import clock
from ketacare.features._kit.errors import BadRequest, KetacareError, NotFound, RateLimited
from ketacare.features.admin import queries
from ketacare.features.admin.models import PasswordReset
from ketacare.features.audit.service import record
from ketacare.features.auth import service as accounts
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role, User
from ketacare.features.auth.passwords import hash_password, password_problem
from ketacare.features.clinics.models import Clinic
from ketacare.features.outreach.notify import DeliveryFailed, Message, notifier_from_settings
from ketacare.features.ratelimit.service import counter_key, hit
from ketacare.settings import Settings

log = logging.getLogger("ketacare.admin.reset")

#: The path of a reset link (the token follows).
LINK_PATH = "/password/reset/"


class ResetGone(KetacareError):
    """The reset link was used already, has expired, or its account can no longer use it."""

    status_code = 410


@dataclass(frozen=True, slots=True)
class ResetMail:
    """A reset link to send once the transaction that created it has committed."""

    reset_id: int
    user_id: int
    to: str
    url: str
    expires_at: datetime
    tz: str
    clinic_name: str


def _can_reset(user: User | None) -> bool:
    return user is not None and user.is_active and user.role != Role.patient


def _issue(db: Session, actor: Actor, settings: Settings, user: User, now: datetime) -> ResetMail:
    """Create the link (audited as a ``create`` of ``password_reset``) and its mail."""
    secret = settings.secret_key.get_secret_value()
    token = secrets.token_urlsafe(32)
    reset = PasswordReset(
        clinic_id=user.clinic_id,
        user_id=user.id,
        token_hash=accounts.token_hash(secret, token),
        created_at=now,
        expires_at=now + timedelta(minutes=settings.password_reset_minutes),
        sent_by_id=actor.user_id,
    )
    db.add(reset)
    db.flush()
    record(db, actor, "create", "password_reset", f"{reset.id}:user:{user.id}",
           clinic_id=user.clinic_id)  # fmt: skip
    clinic = db.get(Clinic, user.clinic_id)
    tz = clock.clinic_tz(clinic, settings.timezone).key
    url = f"{settings.public_url.rstrip('/')}{LINK_PATH}{token}"
    name = clinic.name if clinic is not None else settings.clinic_name
    return ResetMail(reset.id, user.id, user.email, url, reset.expires_at, tz, name)


def request_reset(
    db: Session, actor: Actor, settings: Settings, email_raw: str, client: str, now: datetime
) -> ResetMail | None:
    """Count the request (RateLimited over either limit) and create a link when ``email`` is
    an active staff account; None otherwise. The caller answers the same way either way."""
    email = accounts.checked_email(email_raw)
    secret = settings.secret_key.get_secret_value()
    window, t = settings.password_reset_rate_window_s, now.timestamp()
    by_address = hit(db, counter_key(secret, "reset-ip", client),
                     settings.password_reset_rate_limit, window, t)  # fmt: skip
    by_email = hit(db, counter_key(secret, "reset-email", email),
                   settings.password_reset_email_rate_limit, window, t)  # fmt: skip
    if not (by_address and by_email):
        raise RateLimited("too many reset requests: wait a few minutes, then try again")
    user = accounts.user_by_email(db, email)
    if user is None or not _can_reset(user):
        return None
    return _issue(db, actor, settings, user, now)


def send_reset(
    db: Session, actor: Actor, settings: Settings, user: User, now: datetime
) -> ResetMail:
    """An admin sends ``user`` (an account of the admin's clinic) a reset link."""
    if not user.is_active:
        raise BadRequest("the account is deactivated: reactivate it first", "user")
    if user.role == Role.patient:
        raise BadRequest("patients sign in with a link from the patient sign-in page", "user")
    return _issue(db, actor, settings, user, now)


def reset_message(mail: ResetMail) -> Message:
    """The mail that carries a reset link: no clinical data."""
    until = (
        f"{clock.format_local(mail.expires_at, mail.tz)} {clock.tz_label(mail.expires_at, mail.tz)}"
    )
    body = (
        f"Someone asked to reset the password of your {mail.clinic_name} staff account.\n\n"
        f"Open this link to choose a new password. It works once, until {until}:\n{mail.url}\n\n"
        "If you did not ask for it, ignore this message: your password stays as it is.\n"
    )
    return Message(
        to=mail.to,
        subject=f"Reset your {mail.clinic_name} password",
        body=body,
        url=mail.url,
        kind="link",  # the console notifier redacts the token: a working link is a credential
    )


def deliver(settings: Settings, mail: ResetMail) -> None:
    """Send the link (after the commit, from a background task); failures are logged by
    reset id, without the address."""
    try:
        notifier_from_settings(settings).send(reset_message(mail))
    except DeliveryFailed as exc:
        log.warning("password reset %s not delivered: %s", mail.reset_id, exc)


def open_reset(db: Session, settings: Settings, token: str, now: datetime) -> PasswordReset:
    """The live reset link of ``token`` (NotFound for an unknown token, ResetGone when used,
    expired or its account can no longer sign in). Looking does not use it."""
    if not 20 <= len(token) <= 100:
        raise NotFound("this reset link is not valid")
    reset = queries.reset_by_hash(
        db, accounts.token_hash(settings.secret_key.get_secret_value(), token)
    )
    if reset is None:
        raise NotFound("this reset link is not valid")
    if reset.used_at is not None:
        raise ResetGone("this reset link has already been used")
    if reset.expires_at <= now:
        raise ResetGone("this reset link has expired")
    if not _can_reset(db.get(User, reset.user_id)):
        raise ResetGone("this reset link can no longer be used; ask the clinic's admin")
    return reset


def complete_reset(
    db: Session,
    settings: Settings,
    token: str,
    new_password: str,
    confirm: str,
    client: str,
    now: datetime,
) -> User:
    """Set the account's password through the link, once (BadRequest naming
    ``new_password`` or ``confirm_password`` leaves the link unused). The account's other
    reset links stop working, a lockout is cleared and every login session ends; audited as
    an ``update`` of the user by that account over the ``link`` channel."""
    reset = open_reset(db, settings, token, now)
    user = db.get(User, reset.user_id)
    assert user is not None  # open_reset checked it
    problem = password_problem(new_password, user.email)
    if problem:
        raise BadRequest(problem, "new_password")
    if confirm != new_password:
        raise BadRequest("does not match the new password", "confirm_password")
    if not queries.claim_reset(db, reset.id, now):
        raise ResetGone("this reset link has already been used")
    user.password_hash = hash_password(new_password)
    user.failed_logins = 0
    user.locked_until = None
    accounts.revoke_all_sessions(db, user, now=now)
    queries.spend_other_resets(db, user.id, now)
    db.flush()
    record(db, Actor.for_user(user, "link", client), "update", "user",
           f"{user.id}:password-reset-link:{reset.id}")  # fmt: skip
    return user


def reset_email(db: Session, settings: Settings, token: str, now: datetime) -> str:
    """The e-mail address of the account a live link resets (for the form; the person
    holding the link received it at that address)."""
    user = db.get(User, open_reset(db, settings, token, now).user_id)
    assert user is not None
    return user.email
