"""Re-consent after a protocol change (issue 19.5).

A signed consent covers the treatment as it was planned when the patient signed. When the
patient's active plan now follows another protocol (or another version of it) than the plan the
consent was given for, the patient must consent again, even though the consent text is the same.

The plan a consent was given for is the newest plan created at or before the signature; a
consent signed before any plan existed was given for the first plan made after it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ketacare.domain.rules import Reason

SOURCE = (
    "ketacare policy [U]: informed consent is specific to the planned treatment; a changed "
    "protocol needs new consent (clinical.md §4; KETACARE_CONSENT_RECONSENT_ON_PROTOCOL_CHANGE)"
)


@dataclass(frozen=True, slots=True)
class PlanFact:
    """One treatment plan of the patient, as far as consent is concerned."""

    protocol_id: str
    protocol_version: str
    title: str
    created_at: datetime
    active: bool
    #: The session route the plan treats with: ``esketamine`` or ``iv``.
    route: str = "iv"


def protocol_change(plans: Sequence[PlanFact], signed_at: datetime) -> Reason | None:
    """Why a consent signed at ``signed_at`` no longer covers the active plan (None: it does).

    >>> from datetime import UTC
    >>> t = lambda d: datetime(2026, 1, d, tzinfo=UTC)
    >>> a = PlanFact("iv-6", "1", "IV six", t(1), False)
    >>> b = PlanFact("iv-6", "2", "IV six", t(10), True)
    >>> protocol_change([a, b], t(5)).rule_id
    'consent.protocol_changed'
    >>> protocol_change([a, b], t(11)) is None
    True
    """
    ordered = sorted(plans, key=lambda p: p.created_at)
    active = [p for p in ordered if p.active]
    if not active:
        return None
    current = active[-1]
    before = [p for p in ordered if p.created_at <= signed_at]
    given_for = before[-1] if before else ordered[0]
    if (given_for.protocol_id, given_for.protocol_version) == (
        current.protocol_id,
        current.protocol_version,
    ):
        return None
    old = f"{given_for.title or given_for.protocol_id} v{given_for.protocol_version}"
    new = f"{current.title or current.protocol_id} v{current.protocol_version}"
    text = (
        f"The protocol changed after the consent was signed (from {old} to {new}): "
        "the patient must re-consent."
    )
    return Reason("consent.protocol_changed", text, SOURCE)
