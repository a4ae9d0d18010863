"""Accounts, login sessions and personal API tokens. Services flush, never commit."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session, joinedload

from ketacare.db.base import utcnow
from ketacare.features._kit.errors import BadRequest
from ketacare.features.auth.models import AuthToken, Role, TokenKind, User
from ketacare.features.auth.passwords import (
    dummy_hash,
    hash_password,
    password_problem,
    verify_password,
)
from ketacare.features.clinics.models import Clinic

API_TOKEN_PREFIX = "kc_pat_"
#: Write ``last_used_at`` at most this often, to keep reads cheap.
TOUCH_INTERVAL = timedelta(seconds=60)


class AccountError(ValueError):
    """A user or token operation was refused; ``field`` names the input at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """Absolute and idle lifetimes of a browser login session."""

    max_age: timedelta
    idle: timedelta


def token_hash(secret: str, token: str) -> str:
    """HMAC-SHA256 of a token under the installation's secret key (hex)."""
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def normalise_email(email: str) -> str:
    """Trimmed, lower-case email address."""
    return email.strip().lower()


def checked_email(raw: str) -> str:
    """A typed e-mail address, normalised; BadRequest naming ``email`` when it is empty or
    not an address (the portal's and the password reset's sign-in forms)."""
    email = normalise_email(raw)
    if not email:
        raise BadRequest("is required", "email")
    if "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
        raise BadRequest("is not a valid e-mail address", "email")
    return email


def create_user(
    db: Session,
    clinic: Clinic,
    email: str,
    role: Role,
    password: str,
    *,
    demo_password: bool = False,
) -> User:
    """Create a user in ``clinic``; refuse duplicates and weak passwords.

    ``demo_password`` skips the password policy; only the demo seed (``make run``, whose
    accounts share the published password ``ketacare-demo``) passes it.
    """
    email = normalise_email(email)
    if "@" not in email or len(email) > 320:
        raise AccountError("email", "is not a valid email address")
    problem = None if demo_password else password_problem(password, email, (clinic.slug,))
    if problem:
        raise AccountError("password", problem)
    if db.execute(select(User.id).where(User.email == email)).first():
        raise AccountError("email", "is already registered")
    user = User(clinic=clinic, email=email, role=role, password_hash=hash_password(password))
    db.add(user)
    db.flush()
    return user


def user_by_email(db: Session, email: str) -> User | None:
    """The user with this email, with its clinic loaded."""
    stmt = select(User).options(joinedload(User.clinic)).where(User.email == normalise_email(email))
    return db.execute(stmt).scalar_one_or_none()


@dataclass(frozen=True, slots=True)
class LoginOutcome:
    """The user on success; else None (unknown email, inactive account or wrong password,
    never told apart). Throttling is ``ketacare.features.auth.throttle``'s."""

    user: User | None


def authenticate(
    db: Session, email: str, password: str, release: Callable[[], None] | None = None
) -> LoginOutcome:
    """Check credentials, in about the same time for unknown and known emails.

    ``release`` (e.g. ``db.commit``) is called after the stored hash is read and before the
    slow hash check, so no database lock is held while it runs (SQLite's write lock is taken
    at BEGIN: concurrent logins would otherwise wait on each other's Argon2).
    """
    user = user_by_email(db, email)
    user_id = user.id if user is not None and user.is_active else None
    stored = user.password_hash if user is not None and user_id is not None else dummy_hash()
    if release is not None:
        release()
    ok, new_hash = verify_password(password, stored)
    if user_id is None or not ok:
        return LoginOutcome(None)
    user = db.get(User, user_id)
    if user is None or not user.is_active:
        return LoginOutcome(None)
    if new_hash:
        user.password_hash = new_hash
    return LoginOutcome(user)


def change_password(
    db: Session, user: User, current: str, new: str, keep_session: str | None = None
) -> None:
    """Replace the password after checking the current one and the policy, and end every
    other login session of the account (whoever knew the old password is logged out).

    ``keep_session`` is the token hash of the session that made the change (it stays open).
    """
    if not verify_password(current, user.password_hash)[0]:
        raise AccountError("current_password", "is wrong")
    problem = password_problem(new, user.email)
    if problem:
        raise AccountError("new_password", problem)
    if verify_password(new, user.password_hash)[0]:
        raise AccountError("new_password", "must differ from the current password")
    user.password_hash = hash_password(new)
    user.failed_logins = 0
    user.locked_until = None
    revoke_all_sessions(db, user, except_hash=keep_session)
    db.flush()


def _issue(db: Session, secret: str, user: User, kind: TokenKind, token: str, **kw: object) -> None:
    db.add(AuthToken(user=user, kind=kind, token_hash=token_hash(secret, token), **kw))
    db.flush()


def start_session(
    db: Session, secret: str, user: User, policy: SessionPolicy, now: datetime | None = None
) -> str:
    """Open a login session at ``now`` (default: the current time); return the opaque token
    for the cookie."""
    token = secrets.token_urlsafe(32)
    expires = (now or utcnow()) + policy.max_age
    _issue(db, secret, user, TokenKind.session, token, expires_at=expires)
    return token


def create_api_token(db: Session, secret: str, user: User, name: str) -> str:
    """Create a personal API token for ``user``; the token is shown only once."""
    name = name.strip()
    if not name:
        raise AccountError("name", "must not be empty")
    token = API_TOKEN_PREFIX + secrets.token_urlsafe(32)
    _issue(db, secret, user, TokenKind.api, token, name=name)
    return token


# Built once: this runs on every authenticated request.
_RESOLVE = (
    select(AuthToken)
    .options(joinedload(AuthToken.user).joinedload(User.clinic))
    .where(AuthToken.token_hash == bindparam("hash"), AuthToken.kind == bindparam("kind"))
)


def resolve(
    db: Session,
    secret: str,
    token: str,
    kind: TokenKind,
    policy: SessionPolicy | None = None,
    now: datetime | None = None,
    touch: bool = True,
) -> User | None:
    """The active user behind a live token of ``kind``, or None.

    ``touch=False`` checks without counting as activity (a page's automatic refresh must not
    keep an unattended login alive)."""
    now = now or utcnow()
    found = db.execute(_RESOLVE, {"hash": token_hash(secret, token), "kind": kind})
    row = found.scalar_one_or_none()
    if row is None or row.revoked_at is not None or not row.user.is_active:
        return None
    if row.expires_at is not None and now >= row.expires_at:
        return None
    if policy is not None and now - row.last_used_at >= policy.idle:
        return None
    if touch and now - row.last_used_at >= TOUCH_INTERVAL:
        row.last_used_at = now
    return row.user


def revoke(db: Session, secret: str, token: str, now: datetime | None = None) -> None:
    """Revoke one token (logout) at ``now`` (default: the current time)."""
    db.execute(
        update(AuthToken)
        .where(AuthToken.token_hash == token_hash(secret, token), AuthToken.revoked_at.is_(None))
        .values(revoked_at=now or utcnow())
    )


def revoke_all_sessions(
    db: Session, user: User, except_hash: str | None = None, now: datetime | None = None
) -> int:
    """Log ``user`` out everywhere (but the session ``except_hash``) at ``now`` (default:
    the current time); return how many sessions were closed."""
    stmt = update(AuthToken).where(
        AuthToken.user_id == user.id,
        AuthToken.kind == TokenKind.session,
        AuthToken.revoked_at.is_(None),
    )
    if except_hash is not None:
        stmt = stmt.where(AuthToken.token_hash != except_hash)
    result = db.execute(stmt.values(revoked_at=now or utcnow()))
    return int(getattr(result, "rowcount", 0) or 0)


def revoke_api_token(db: Session, user: User, token_id: int, now: datetime | None = None) -> bool:
    """Revoke one of ``user``'s API tokens by id at ``now`` (default: the current time);
    False if there is no such active token."""
    result = db.execute(
        update(AuthToken)
        .where(
            AuthToken.id == token_id,
            AuthToken.user_id == user.id,
            AuthToken.kind == TokenKind.api,
            AuthToken.revoked_at.is_(None),
        )
        .values(revoked_at=now or utcnow())
    )
    return bool(getattr(result, "rowcount", 0))


def api_tokens(db: Session, user: User) -> list[AuthToken]:
    """``user``'s API tokens, newest first."""
    stmt = (
        select(AuthToken)
        .where(AuthToken.user_id == user.id, AuthToken.kind == TokenKind.api)
        .order_by(AuthToken.id.desc())
    )
    return list(db.execute(stmt).scalars())


def temporary_password() -> str:
    """A random password to hand over once (about 96 bits; passes the password policy)."""
    return "-".join(secrets.token_urlsafe(6) for _ in range(3))


def reset_password(db: Session, user: User, now: datetime | None = None) -> str:
    """Give ``user`` a new random password, clear a lockout and end every login session of
    the account; return the password (shown once to whoever reset it, never stored)."""
    password = temporary_password()
    user.password_hash = hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    revoke_all_sessions(db, user, now=now)
    db.flush()
    return password


def _keep_an_admin(db: Session, user: User, field: str, acting_id: int | None) -> None:
    """Refuse a change that would leave ``user``'s clinic without an active admin.

    The clinic's active admin rows are locked until the transaction ends (on PostgreSQL;
    SQLite serialises writers), so two admins demoting each other at once cannot both pass.
    """
    stmt = (
        select(User.id)
        .where(User.clinic_id == user.clinic_id, User.role == Role.admin, User.is_active.is_(True))
        .order_by(User.id)
        .with_for_update()
    )
    admins = list(db.execute(stmt).scalars())
    if user.id in admins and len(admins) <= 1:
        who = "yourself" if user.id == acting_id else "the clinic's last admin"
        raise AccountError(field, f"cannot remove {who}: the clinic needs an active admin")


def change_role(db: Session, user: User, role: Role, acting_id: int | None = None) -> None:
    """Give ``user`` another role, never leaving the clinic without an active admin
    (``acting_id``: who asks, named in the refusal when it is themselves)."""
    if role == user.role:
        return
    if user.role == Role.admin:
        _keep_an_admin(db, user, "role", acting_id)
    user.role = role
    db.flush()


def set_active(
    db: Session, user: User, active: bool, now: datetime | None = None, acting_id: int | None = None
) -> None:
    """Deactivate (every session ends; tokens stop working) or reactivate an account, never
    leaving the clinic without an active admin."""
    if active == user.is_active:
        return
    if not active and user.role == Role.admin:
        _keep_an_admin(db, user, "active", acting_id)
    user.is_active = active
    if not active:
        revoke_all_sessions(db, user, now=now)
    db.flush()
