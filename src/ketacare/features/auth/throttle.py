"""Failed-login throttling with back-off, per address and per (account, address) pair.

Only failures count: a clinic whose staff all log in from one address at shift start is
never refused for logging in. Two counters are kept for each failure:

* per client address: after ``address_threshold`` failures from one address (any emails),
  that address waits, ``base`` first and twice as long after each further failure;
* per (email, address) pair: after ``pair_threshold`` failures for one email from one
  address, that pair waits the same way. Guessing one account's password from many
  addresses therefore slows each guessing address down, but never the owner's own address:
  ten wrong passwords from ten addresses do not refuse the owner's right password.

The email is counted as typed (normalised), whether or not an account has it, so an unknown
email, an inactive account and a known one get the same answers at the same points, and a
throttled attempt is refused before any password is checked, for all alike (no enumeration
by status, body or timing). Counts are forgotten after ``quiet`` without failures. Keys are
HMACs: no address or email is stored.
"""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.auth.models import LoginFailure
from ketacare.features.ratelimit.service import counter_key

TABLE = cast(Table, LoginFailure.__table__)


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """Thresholds (0 = off), the first wait, the longest wait and the forgetting window."""

    address_threshold: int = 20
    pair_threshold: int = 5
    base: timedelta = timedelta(seconds=60)
    maximum: timedelta = timedelta(hours=1)
    quiet: timedelta = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class Keys:
    """The counter keys of one login attempt."""

    address: str
    pair: str


def keys(secret: str, email: str, address: str) -> Keys:
    """Keys for an attempt on ``email`` (as typed) from ``address``."""
    normalised = email.strip().lower()
    return Keys(
        counter_key(secret, "login-fail-ip", address),
        counter_key(secret, "login-fail-pair", f"{normalised}\x00{address}"),
    )


def blocked_until(db: Session, k: Keys, now: datetime | None = None) -> datetime | None:
    """When this attempt may be made again, or None if it may be made now."""
    now = now or utcnow()
    stmt = select(LoginFailure.blocked_until).where(
        LoginFailure.key.in_((k.address, k.pair)), LoginFailure.blocked_until > now
    )
    found = [t for t in db.execute(stmt).scalars() if t is not None]
    return max(found) if found else None


def _ensure_rows(db: Session, key_list: Iterable[str], now: datetime) -> None:
    insert = postgresql.insert if db.get_bind().dialect.name == "postgresql" else sqlite.insert
    for key in key_list:
        stmt = insert(TABLE).values(key=key, failures=0, last_failure_at=now, blocked_until=None)
        db.execute(stmt.on_conflict_do_nothing(index_elements=[TABLE.c.key]))


def record_failure(
    db: Session, k: Keys, policy: ThrottlePolicy, now: datetime | None = None
) -> datetime | None:
    """Count one failed login on both keys; return until when the next attempt waits."""
    now = now or utcnow()
    thresholds = {k.address: policy.address_threshold, k.pair: policy.pair_threshold}
    ordered = sorted(thresholds)  # one lock order for every request: no deadlock
    _ensure_rows(db, ordered, now)
    rows = db.execute(
        select(LoginFailure)
        .where(LoginFailure.key.in_(ordered))
        .order_by(LoginFailure.key)
        .with_for_update()
    ).scalars()
    until: datetime | None = None
    for row in rows:
        calm_since = max(row.last_failure_at, row.blocked_until or row.last_failure_at)
        if now - calm_since > policy.quiet:
            row.failures, row.blocked_until = 0, None
        row.failures += 1
        row.last_failure_at = now
        threshold = thresholds[row.key]
        if threshold > 0 and row.failures >= threshold:
            wait = min(policy.base * (2 ** min(row.failures - threshold, 30)), policy.maximum)
            row.blocked_until = now + wait
            until = max(until, row.blocked_until) if until else row.blocked_until
    if random.random() < 0.01:  # occasional clean-up (not a security decision)
        db.execute(
            delete(TABLE).where(
                TABLE.c.last_failure_at < now - timedelta(days=1),
                (TABLE.c.blocked_until.is_(None)) | (TABLE.c.blocked_until < now),
            )
        )
    db.flush()
    return until


def record_success(db: Session, k: Keys) -> None:
    """The pair's count starts again; the address's does not (an attacker with an account of
    their own must not be able to wipe the failures of their address by logging in)."""
    db.execute(delete(TABLE).where(TABLE.c.key == k.pair))
