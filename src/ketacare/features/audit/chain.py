"""Hashing and verification of the audit chain (no database access here)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from ketacare.features.audit.models import GENESIS_HASH

FIELDS = (
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


def event_hash(fields: Mapping[str, object], prev_hash: str) -> str:
    """SHA-256 over the canonical JSON of the event's fields and the previous hash."""
    payload: dict[str, object] = {}
    for name in FIELDS:
        value = fields[name]
        payload[name] = value.isoformat() if isinstance(value, datetime) else value
    payload["prev_hash"] = prev_hash
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class ChainReport:
    """Result of a verification: ``ok``, events checked, and the first problem if any."""

    ok: bool
    checked: int
    first_broken_seq: int | None = None
    reason: str = ""


def verify(events: Iterable[Mapping[str, object]], head_seq: int, head_hash: str) -> ChainReport:
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
            )
        if ev["prev_hash"] != prev:
            return ChainReport(False, checked, seq, "does not link to the previous event")
        if event_hash(ev, prev) != ev["hash"]:
            return ChainReport(False, checked, seq, "its content was changed after it was written")
        prev = str(ev["hash"])
        expected_seq += 1
        checked += 1
    if head_seq != checked or head_hash != prev:
        return ChainReport(
            False,
            checked,
            checked + 1 if head_seq > checked else checked,
            f"the log ends at event {checked} but the head says {head_seq}",
        )
    return ChainReport(True, checked)
