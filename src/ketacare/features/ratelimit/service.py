"""Database-backed fixed-window rate limiting, shared by every worker and host."""

from __future__ import annotations

import hashlib
import hmac
import time

from sqlalchemy import delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ketacare.features.ratelimit.models import RateCounter


def counter_key(secret: str, purpose: str, subject: str) -> str:
    """A key that does not reveal the subject (e.g. an IP address) when stored."""
    digest = hmac.new(secret.encode(), f"{purpose}\x00{subject}".encode(), hashlib.sha256)
    return f"{purpose}:{digest.hexdigest()[:64]}"


def hit_many(
    db: Session, counts: dict[str, int], window_s: int, now: float | None = None
) -> dict[str, int]:
    """Add ``counts[key]`` hits to each key's current window; return each key's new total."""
    t = time.time() if now is None else now
    window = int(t // window_s) * window_s
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    totals: dict[str, int] = {}
    for key, n in counts.items():
        stmt = (
            insert(RateCounter)
            .values(key=key, window_start=window, count=n)
            .on_conflict_do_update(
                index_elements=[RateCounter.key, RateCounter.window_start],
                set_={"count": RateCounter.count + n},
            )
            .returning(RateCounter.count)
        )
        totals[key] = int(db.execute(stmt).scalar_one())
        if totals[key] == n and int(t) % 97 == 0:
            # Occasional clean-up of windows older than a day.
            db.execute(delete(RateCounter).where(RateCounter.window_start < window - 86_400))
    return totals


def hit(db: Session, key: str, limit: int, window_s: int, now: float | None = None) -> bool:
    """Count one hit for ``key``; return False when the limit for this window is exceeded.

    A ``limit`` of 0 disables the check (and counts nothing).
    """
    if limit <= 0:
        return True
    return hit_many(db, {key: 1}, window_s, now)[key] <= limit
