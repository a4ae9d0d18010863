"""``Idempotency-Key`` for the charting steps that create a record (vitals, scales, adverse
events): a retry after a lost response returns the first result and stores nothing twice.

Keys are scoped to the session; the first request's key row and record are written in one
savepoint, so two concurrent requests with one key store one record (the unique constraint
``uq_session_request_key`` decides; the loser answers with the winner's record).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.features._kit.errors import BadRequest
from ketacare.features.sessions.models import SessionRequestKey, TreatmentSession

HEADER = "idempotency-key"
MAX_KEY = 200
_TIMES = {"at", "onset_at"}  # "minutes ago" on the page: a retry computes them again


def key_of(headers: Mapping[str, str]) -> str:
    """The request's key ('' without one); BadRequest for an unusable key (never truncated)."""
    return check_key(headers.get(HEADER))


def check_key(value: str | None) -> str:
    """An ``Idempotency-Key`` header's value ('' for none); BadRequest if unusable."""
    raw = (value or "").strip()
    if len(raw) > MAX_KEY or any(not (32 < ord(ch) < 127) for ch in raw):
        raise BadRequest(f"must be 1 to {MAX_KEY} visible ASCII characters", "Idempotency-Key")
    return raw


def _fingerprint(step: str, body: BaseModel) -> str:
    data = body.model_dump_json(exclude=_TIMES & set(type(body).model_fields))
    return hashlib.sha256(f"{step}\n{data}".encode()).hexdigest()


def _find(db: Session, session_id: int, key: str) -> SessionRequestKey | None:
    return db.execute(
        select(SessionRequestKey).where(
            SessionRequestKey.session_id == session_id, SessionRequestKey.key == key
        )
    ).scalar_one_or_none()


def _replay(row: SessionRequestKey, step: str, fingerprint: str) -> int:
    if row.step != step or row.fingerprint != fingerprint:
        raise BadRequest("was already used for a different request", "Idempotency-Key")
    return row.record_id or 0


def once(
    db: Session,
    s: TreatmentSession,
    key: str,
    step: str,
    body: BaseModel,
    create: Callable[[], int],
) -> tuple[int, bool]:
    """Run ``create`` once per key: (record id, True when it ran now)."""
    if not key:
        return create(), True
    fingerprint = _fingerprint(step, body)
    found = _find(db, s.id, key)
    if found is not None:
        return _replay(found, step, fingerprint), False
    try:
        with db.begin_nested():
            rid = create()
            db.add(
                SessionRequestKey(
                    session_id=s.id, key=key, step=step, fingerprint=fingerprint, record_id=rid
                )
            )
            db.flush()
    except IntegrityError:
        found = _find(db, s.id, key)
        if found is None:  # pragma: no cover - the constraint failed for another reason
            raise
        return _replay(found, step, fingerprint), False
    return rid, True
