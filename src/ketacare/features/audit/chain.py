"""Hashing and verification of the audit chain (no database access here).

Events from ``keyed_from`` on are chained with HMAC-SHA256 under the audit key, which is not
in the database (``KETACARE_AUDIT_KEY``, default a file in the data directory): a database
writer cannot recompute them after an edit. Events before ``keyed_from`` were written by
versions before 0010 with plain SHA-256 and are verified as such (they are pinned by the
first keyed event, which covers the last unkeyed hash). Anchors (``ketacare audit anchor``)
are signed checkpoints kept outside the database; a log that no longer extends an anchor was
truncated or rewritten.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ketacare.features.audit.models import GENESIS_HASH

#: Fields hashed by the unkeyed events written before migration 0010.
LEGACY_FIELDS = (
    "seq",
    "at",
    "clinic_id",
    "actor_id",
    "actor_email",
    "action",
    "resource",
    "resource_id",
    "patient_id",
    "outcome",
    "channel",
    "client",
)
#: Fields of an event (all hashed in keyed events); ``patients``: ids disclosed, ",1,2,".
FIELDS = (*LEGACY_FIELDS, "patients")


def _canonical(fields: Mapping[str, object], prev_hash: str, names: tuple[str, ...]) -> bytes:
    payload: dict[str, object] = {}
    for name in names:
        value = fields[name]
        payload[name] = value.isoformat() if isinstance(value, datetime) else value
    payload["prev_hash"] = prev_hash
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return text.encode()


def legacy_hash(fields: Mapping[str, object], prev_hash: str) -> str:
    """SHA-256 over the canonical JSON of the event's fields and the previous hash (pre-0010)."""
    return hashlib.sha256(_canonical(fields, prev_hash, LEGACY_FIELDS)).hexdigest()


def event_hash(fields: Mapping[str, object], prev_hash: str, key: bytes) -> str:
    """HMAC-SHA256 under the audit key over the event's fields and the previous hash."""
    return hmac.new(key, _canonical(fields, prev_hash, FIELDS), hashlib.sha256).hexdigest()


def anchor_mac(key: bytes, seq: int, digest: str, keyed_from: int, at: str) -> str:
    """The signature of an anchor (a checkpoint of the chain kept outside the database)."""
    text = f"ketacare-audit-anchor|{seq}|{digest}|{keyed_from}|{at}"
    return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Result of a verification: ``ok``, events checked, and the first problem if any."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""
    keyed_from: int = 1


def verify(
    events: Iterable[Mapping[str, object]],
    head_seq: int,
    head_hash: str,
    key: bytes,
    keyed_from: int = 1,
) -> ChainReport:
    """Check events in ``seq`` order against each other and against the head row."""
    prev = GENESIS_HASH
    expected_seq = 1
    checked = 0
    for ev in events:
        seq = int(str(ev["seq"]))
        if seq != expected_seq:
            return ChainReport(
                False,
                checked,
                expected_seq,
                f"event {expected_seq} is missing (next found is {seq})",
                keyed_from,
            )
        if ev["prev_hash"] != prev:
            return ChainReport(
                False, checked, seq, "does not link to the previous event", keyed_from
            )
        digest = event_hash(ev, prev, key) if seq >= keyed_from else legacy_hash(ev, prev)
        if not hmac.compare_digest(digest, str(ev["hash"])):
            return ChainReport(
                False,
                checked,
                seq,
                "its content was changed after it was written (or the audit key is not the "
                "one that wrote it)",
                keyed_from,
            )
        prev = str(ev["hash"])
        expected_seq += 1
        checked += 1
    if head_seq != checked or head_hash != prev:
        return ChainReport(
            False,
            checked,
            checked + 1 if head_seq > checked else checked,
            f"the log ends at event {checked} but the head says {head_seq}",
            keyed_from,
        )
    return ChainReport(True, checked, keyed_from=keyed_from)
