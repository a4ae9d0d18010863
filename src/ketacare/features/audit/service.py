"""Append audit events to the chain, in the caller's transaction.

``record`` only queues the event on the session; the events are chained and inserted just
before the session commits (holding the head row's lock for as short a time as possible). If
the transaction rolls back, its events go with it: the log never claims a change that did not
happen (a rolled-back SAVEPOINT inside it keeps them: the attempt itself was an access).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from ketacare.db.audit_keys import AuditKeyMissing as AuditKeyMissing  # re-exported
from ketacare.db.audit_keys import audit_key
from ketacare.db.audit_keys import register_key as register_key  # re-exported
from ketacare.db.audit_keys import use_settings as use_settings  # re-exported
from ketacare.db.base import utcnow
from ketacare.db.engine import KetacareSession
from ketacare.features.audit.chain import FIELDS, ChainReport, event_hash, verify
from ketacare.features.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from ketacare.features.audit.queries import patient_clinics
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import User

EVENTS = cast(Table, AuditEvent.__table__)
HEAD = cast(Table, AuditHead.__table__)
_PENDING = "ketacare.audit.pending"
#: Events per INSERT statement: 15 columns each stays far below PostgreSQL's 65,535
#: parameters per statement (a clinic export of 4,808 patients once exceeded it).
CHUNK = 1000


def patient_list(ids: Iterable[int]) -> str:
    """Patient ids as stored in ``audit_event.patients``: ",1,2,3," (sorted, unique)."""
    unique = sorted({int(i) for i in ids})
    return f",{','.join(map(str, unique))}," if unique else ""


def record(
    db: Session,
    actor: Actor | User | None,
    action: str,
    resource: str,
    resource_id: object = "",
    patient_id: int | None = None,
    outcome: str = "ok",
    channel: str = "page",
    client: str = "",
    clinic_id: int | None = None,
    patients: Iterable[int] = (),
    actor_name: str = "",
) -> None:
    """Queue one event (``action``: read, list, create, update, export, ...) for this commit.

    ``actor`` is an :class:`Actor` (its channel, client, name and clinic are used; the keyword
    arguments of the same meaning are then ignored). A bare ``User`` or None is the older
    form, kept while features move to ``Actor``.

    The event belongs to the actor's clinic; ``clinic_id`` names it when there is no actor
    (a CLI command acting for a clinic), else the patient's clinic is used at commit.
    ``patients`` lists every patient a list, search or export disclosed; ``actor_name``
    names a non-user actor (``Actor.cli()`` does it for the CLI).
    """
    if not isinstance(db, KetacareSession):  # its commit would not append the event
        raise TypeError("audit.record needs a session of ketacare.db.engine.session_factory")
    if isinstance(actor, Actor):
        channel, client, actor_name = actor.channel, actor.client, actor.name
        clinic_id = actor.clinic_id if actor.clinic_id is not None else clinic_id
        actor = actor.user
    db.info.setdefault(_PENDING, []).append(
        {
            "at": utcnow(),
            "clinic_id": actor.clinic_id if actor else clinic_id,
            "actor_id": actor.id if actor else None,
            "actor_email": actor.email if actor else actor_name[:320],
            "action": action,
            "resource": resource,
            "resource_id": str(resource_id)[:64],
            "patient_id": patient_id,
            "outcome": outcome,
            "channel": channel,
            "client": client[:64],
            "patients": patient_list(patients),
        }
    )


def _append_pending(session: Session) -> None:
    pending: list[dict[str, Any]] = session.info.pop(_PENDING, [])
    if not pending:
        return
    # Events without a user (a patient's one-time link, a system job) belong to the clinic of
    # their patient, so that the clinic's admins see them.
    orphans = sorted(
        {f["patient_id"] for f in pending if f["clinic_id"] is None and f["patient_id"]}
    )
    if orphans:
        clinics: dict[int, int] = {}
        for i in range(0, len(orphans), CHUNK):
            clinics.update(patient_clinics(session, orphans[i : i + CHUNK]))
        for fields in pending:
            if fields["clinic_id"] is None and fields["patient_id"] in clinics:
                fields["clinic_id"] = clinics[fields["patient_id"]]
    bind = session.get_bind()
    # The one dialect switch: PostgreSQL appends with prebuilt driver SQL (two round trips),
    # every other database through SQLAlchemy Core.
    append = _append_postgresql if bind.dialect.name == "postgresql" else _append_core
    append(session, pending, audit_key(bind))


def _append_core(session: Session, pending: list[dict[str, Any]], key: bytes) -> None:
    """Lock the head, chain ``pending`` after it and insert them (SQLAlchemy Core)."""
    head = session.execute(_LOCK_HEAD).one_or_none()
    if head is None:  # created by the migration; recreated here if someone emptied the table
        session.execute(insert(HEAD).values(id=1, seq=0, hash=GENESIS_HASH, keyed_from=1))
        seq, prev = 0, GENESIS_HASH
    else:
        seq, prev = int(head.seq), str(head.hash)
    rows, seq, prev = _chain(pending, seq, prev, key)
    session.execute(insert(EVENTS), rows)
    session.execute(update(HEAD).where(HEAD.c.id == 1).values(seq=seq, hash=prev))


def _chain(
    pending: list[dict[str, Any]], seq: int, prev: str, key: bytes
) -> tuple[list[dict[str, Any]], int, str]:
    """The rows to insert after head (seq, prev), and the new head."""
    rows = []
    for fields in pending:
        seq += 1
        fields["seq"] = seq
        digest = event_hash(fields, prev, key)
        rows.append({**fields, "prev_hash": prev, "hash": digest})
        prev = digest
    return rows, seq, prev


_COLUMNS = (*FIELDS, "prev_hash", "hash")
_LOCK_HEAD = select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1).with_for_update()


@cache
def _insert_sql(n: int) -> str:
    """One statement that inserts ``n`` events and moves the head (a data-modifying CTE).

    Plain driver SQL, built once per ``n``: this runs in every audited request while the head
    row is locked, so it skips SQLAlchemy's statement compilation.
    """
    names = ", ".join(_COLUMNS)
    values = ", ".join("(" + ", ".join(f"%({c}_{i})s" for c in _COLUMNS) + ")" for i in range(n))
    return (
        f"WITH new_events AS (INSERT INTO audit_event ({names}) VALUES {values}) "
        "UPDATE audit_head SET seq = %(head_seq)s, hash = %(head_hash)s WHERE id = 1"
    )


def _append_postgresql(session: Session, pending: list[dict[str, Any]], key: bytes) -> None:
    """As :func:`_append_core`, in prebuilt driver SQL (benchmarks/audit_append.py)."""
    conn = session.connection()
    head = conn.exec_driver_sql(
        "SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE"
    ).one_or_none()
    if head is None:  # created by the migration; recreated here if someone emptied the table
        conn.exec_driver_sql(
            "INSERT INTO audit_head (id, seq, hash, keyed_from) VALUES (1, 0, %(hash)s, 1)",
            {"hash": GENESIS_HASH},
        )
        seq, prev = 0, GENESIS_HASH
    else:
        seq, prev = int(head[0]), str(head[1])
    rows, seq, prev = _chain(pending, seq, prev, key)
    for start in range(0, len(rows), CHUNK):  # each chunk also moves the head to its end
        chunk = rows[start : start + CHUNK]
        params: dict[str, Any] = {"head_seq": chunk[-1]["seq"], "head_hash": chunk[-1]["hash"]}
        for i, row in enumerate(chunk):
            for c in _COLUMNS:
                params[f"{c}_{i}"] = row[c]
        conn.exec_driver_sql(_insert_sql(len(chunk)), params)


# Registered on ketacare's own session class (``db.engine.session_factory``), not on every
# SQLAlchemy Session in the process.
@event.listens_for(KetacareSession, "before_commit")
def _before_commit(session: Session) -> None:
    # Also fired when a SAVEPOINT is released: chain only at the real commit, once.
    if session.in_nested_transaction():
        return
    _append_pending(session)


@event.listens_for(KetacareSession, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # The outermost transaction ended without commit: its events go with it. A rolled-back
    # SAVEPOINT keeps them (a refused step is still an access worth recording).
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


def iter_events(db: Session, batch: int = 5000) -> Iterator[dict[str, object]]:
    """Every event in chain order, as plain dicts."""
    last = 0
    table = AuditEvent.__table__
    while True:
        rows = (
            db.execute(select(table).where(table.c.seq > last).order_by(table.c.seq).limit(batch))
            .mappings()
            .all()
        )
        if not rows:
            return
        for row in rows:
            yield dict(row)
        last = int(rows[-1]["seq"])


def head(db: Session) -> tuple[int, str, int]:
    """The chain head: (last seq, its hash, first keyed seq)."""
    row = db.execute(
        select(AuditHead.seq, AuditHead.hash, AuditHead.keyed_from).where(AuditHead.id == 1)
    ).one_or_none()
    return (int(row.seq), str(row.hash), int(row.keyed_from)) if row else (0, GENESIS_HASH, 1)


def verify_chain(db: Session) -> ChainReport:
    """Check the whole chain against the head row and the audit key."""
    seq, digest, keyed_from = head(db)
    return verify(iter_events(db), seq, digest, audit_key(db.get_bind()), keyed_from)


def event_hash_at(db: Session, seq: int) -> str | None:
    """The stored hash of event ``seq`` (None when there is no such event)."""
    value = db.execute(select(AuditEvent.hash).where(AuditEvent.seq == seq)).scalar()
    return str(value) if value is not None else None
