"""Database-backed fixed-window rate limiting, shared by every worker and host."""

from __future__ import annotations

import hashlib
import hmac
import time
from functools import lru_cache
from typing import cast

from sqlalchemy import Connection, Insert, Table, bindparam, delete
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from ketacare.features.ratelimit.models import RateCounter


def counter_key(secret: str, purpose: str, subject: str) -> str:
    """A key that does not reveal the subject (e.g. an IP address) when stored."""
    digest = hmac.new(secret.encode(), f"{purpose}\x00{subject}".encode(), hashlib.sha256)
    return f"{purpose}:{digest.hexdigest()[:64]}"


TABLE = cast(Table, RateCounter.__table__)


@lru_cache(maxsize=4)
def _upsert(dialect: str) -> Insert:
    """``INSERT ... ON CONFLICT DO UPDATE SET count = count + :n RETURNING count``, built once
    per dialect with bound parameters, so SQLAlchemy compiles it once and caches it."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(TABLE).values(
        key=bindparam("key"), window_start=bindparam("window"), count=bindparam("n")
    )
    return stmt.on_conflict_do_update(
        index_elements=[TABLE.c.key, TABLE.c.window_start],
        set_={"count": TABLE.c.count + stmt.excluded.count},
    ).returning(TABLE.c.count)


def hit_many(
    db: Session | Connection, counts: dict[str, int], window_s: int, now: float | None = None
) -> dict[str, int]:
    """Add ``counts[key]`` hits to each key's current window; return each key's new total."""
    t = time.time() if now is None else now
    window = int(t // window_s) * window_s
    bind = db.get_bind() if isinstance(db, Session) else db
    stmt = _upsert(bind.dialect.name)
    totals: dict[str, int] = {}
    for key, n in counts.items():
        totals[key] = int(db.execute(stmt, {"key": key, "window": window, "n": n}).scalar_one())
        if totals[key] == n and int(t) % 97 == 0:
            # Occasional clean-up of windows older than a day.
            db.execute(delete(TABLE).where(TABLE.c.window_start < window - 86_400))
    return totals


def hit(db: Session, key: str, limit: int, window_s: int, now: float | None = None) -> bool:
    """Count one hit for ``key``; return False when the limit for this window is exceeded.

    A ``limit`` of 0 disables the check (and counts nothing).
    """
    if limit <= 0:
        return True
    return hit_many(db, {key: 1}, window_s, now)[key] <= limit
