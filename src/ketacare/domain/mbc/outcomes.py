"""Outcomes per patient and instrument: baseline, change, response, remission, MCID, RCI, relapse.

Rules and sources (ketacare clinical reference §6):

* **Baseline** is explicit: the last score at or before the start of the first treatment session,
  or a chosen assessment (Lii 2023 used the screening value) [V].
* **Percent change** = ``(baseline - current) / baseline``; undefined for a baseline of 0.
* **Response** = reduction of at least 50% from baseline (esketamine programme; Murrough 2013;
  Phillips 2019; McIntyre 2020; Oliver 2022; McInnes 2022) [V].
* **Remission** thresholds from the instrument definitions: MADRS <= 12 (<= 10 alternative)
  [V], HAM-D17 <= 7 [S], PHQ-9 <= 4 [V], QIDS-SR16 <= 5 [V]; all configurable.
* **MCID**: PHQ-9 5 points (Löwe 2004, Med Care 42:1194) [V]; none shipped for the others.
* **Reliable change index** (Jacobson & Truax 1991): ``SE = SD_pre * sqrt(1 - r_xx)``,
  ``S_diff = sqrt(2) * SE``, ``RCI = (post - pre) / S_diff``; reliable when ``|RCI| > 1.96`` [V].
  ``SD_pre`` has no default (it must come from a reference population); PHQ-9 ``r_xx`` defaults
  to 0.84 (Kroenke 2001 test-retest) [S].
* **Relapse**: SUSTAIN-1 for the MADRS: >= 22 at 2 consecutive assessments 5-15 days apart, or
  hospitalisation for worsening depression, or a suicide-related event (NCT02493868; label
  §14.2) [V]. The PHQ-9 rule is a configurable ketacare default [U].
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import get_instrument

#: Response: at least this fractional reduction from baseline [V].
RESPONSE_REDUCTION = 0.5
#: |RCI| above this is reliable at the 95% level (Jacobson & Truax 1991) [V].
RCI_CRITICAL = 1.96


@dataclass(frozen=True, slots=True)
class Assessment:
    """One scored administration: when it happened and its total."""

    when: datetime
    total: float


@dataclass(frozen=True, slots=True)
class RciParams:
    """Reference-population parameters of the reliable change index.

    Attributes
    ----------
    sd_pre : float
        Standard deviation of pre-treatment totals in the reference population (no default).
    rxx : float
        Reliability; PHQ-9 default 0.84 (Kroenke 2001 test-retest) [S].
    """

    sd_pre: float
    rxx: float = 0.84

    def s_diff(self) -> float:
        """Standard error of the difference, ``sqrt(2) * SD_pre * sqrt(1 - r_xx)``."""
        if self.sd_pre <= 0 or not 0 <= self.rxx < 1:
            raise InvalidAnswer("rci", "sd_pre must be > 0 and rxx in [0, 1)")
        return math.sqrt(2) * self.sd_pre * math.sqrt(1 - self.rxx)


RelapseEventKind = Literal[
    "hospitalisation", "suicide_attempt", "suicide", "hospitalisation_to_prevent_suicide", "other"
]


@dataclass(frozen=True, slots=True)
class RelapseEvent:
    """A clinical event that counts as relapse under SUSTAIN-1 (date = start of the event)."""

    when: datetime
    kind: RelapseEventKind


@dataclass(frozen=True, slots=True)
class RelapseRule:
    """Score-based relapse: ``threshold`` or more at 2 consecutive assessments ``min``-``max``
    days apart.

    Attributes
    ----------
    date_on : {"first", "second"}
        Which of the two assessments dates the relapse. The reference does not say; ketacare
        uses the confirming (second) assessment by default [U].
    """

    threshold: float
    min_gap_days: float = 5
    max_gap_days: float = 15
    date_on: Literal["first", "second"] = "second"
    source: str = ""


#: SUSTAIN-1 (NCT02493868 results record; label §14.2) [V].
SUSTAIN1_MADRS = RelapseRule(
    22, 5, 15, source="SUSTAIN-1: MADRS >= 22 at 2 consecutive assessments 5-15 days apart [V]"
)
#: ketacare default for the PHQ-9: entry into the moderate band (>= 10) confirmed 5-15 days
#: later. Not a published rule [U]; configure per clinic.
PHQ9_RELAPSE_DEFAULT = RelapseRule(
    10, 5, 15, source="ketacare default, not published: PHQ-9 >= 10 twice, 5-15 days apart [U]"
)


@dataclass(frozen=True, slots=True)
class Relapse:
    """A detected relapse: its date, what triggered it, and the rule's source."""

    when: datetime
    trigger: str
    source: str


@dataclass(frozen=True, slots=True)
class OutcomeConfig:
    """Clinic overrides for outcome rules (defaults from the instrument definitions)."""

    remission: Mapping[str, float] = field(default_factory=dict)
    mcid: Mapping[str, float] = field(default_factory=dict)
    response_reduction: float = RESPONSE_REDUCTION
    rci: Mapping[str, RciParams] = field(default_factory=dict)
    relapse: Mapping[str, RelapseRule] = field(default_factory=dict)


DEFAULT_OUTCOME_CONFIG = OutcomeConfig()


def select_baseline(
    assessments: Sequence[Assessment],
    first_treatment: datetime | None = None,
    chosen: datetime | None = None,
) -> Assessment | None:
    """Return the baseline assessment.

    Parameters
    ----------
    assessments : sequence of Assessment
        All assessments of one instrument for one patient, in any order.
    first_treatment : datetime, optional
        Start of the first treatment session; the baseline is the last assessment at or
        before it.
    chosen : datetime, optional
        Pick the assessment at exactly this time instead (e.g. the screening value).

    Returns
    -------
    Assessment or None
        ``None`` when no assessment qualifies.

    Examples
    --------
    >>> d = [Assessment(datetime(2024, 1, 1), 20), Assessment(datetime(2024, 1, 8), 18)]
    >>> select_baseline(d, first_treatment=datetime(2024, 1, 9)).total
    18
    """
    if chosen is not None:
        for a in assessments:
            if a.when == chosen:
                return a
        raise InvalidAnswer("baseline", f"no assessment at {chosen.isoformat()}")
    if first_treatment is None:
        return None
    before = [a for a in assessments if a.when <= first_treatment]
    return max(before, key=lambda a: a.when) if before else None


def percent_change(baseline: float, current: float) -> float | None:
    """Fractional reduction ``(baseline - current) / baseline``; ``None`` if baseline is 0."""
    if baseline == 0:
        return None
    return (baseline - current) / baseline


def is_response(baseline: float, current: float, reduction: float = RESPONSE_REDUCTION) -> bool:
    """Response: a reduction of at least ``reduction`` (default 50%) from a baseline above 0.

    Examples
    --------
    >>> is_response(30, 15), is_response(30, 16), is_response(0, 0)
    (True, False, False)
    """
    pc = percent_change(baseline, current)
    return pc is not None and pc >= reduction


def remission_threshold(
    instrument_id: str, config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG
) -> float | None:
    """Remission cut-off (total at or below) for an instrument, or ``None`` if none defined."""
    if instrument_id in config.remission:
        return config.remission[instrument_id]
    rem = get_instrument(instrument_id).remission
    return None if rem is None else rem.default


def is_remission(
    instrument_id: str, total: float, config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG
) -> bool | None:
    """True when ``total`` is at or below the remission threshold (``None``: no threshold).

    Examples
    --------
    >>> is_remission("madrs", 12), is_remission("madrs", 12, OutcomeConfig(remission={"madrs": 10}))
    (True, False)
    """
    cut = remission_threshold(instrument_id, config)
    return None if cut is None else total <= cut


def mcid(instrument_id: str, config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG) -> float | None:
    """Minimal clinically important difference in points (PHQ-9: 5), or ``None``."""
    if instrument_id in config.mcid:
        return config.mcid[instrument_id]
    m = get_instrument(instrument_id).mcid
    return None if m is None else m.default


def reliable_change_index(pre: float, post: float, params: RciParams) -> float:
    """Jacobson-Truax RCI, ``(post - pre) / S_diff``; negative is improvement.

    Examples
    --------
    >>> round(reliable_change_index(20, 10, RciParams(sd_pre=5.0, rxx=0.84)), 3)
    -3.536
    """
    return (post - pre) / params.s_diff()


def detect_relapse(
    assessments: Sequence[Assessment],
    rule: RelapseRule,
    events: Sequence[RelapseEvent] = (),
) -> Relapse | None:
    """Return the first relapse in a maintenance-phase series, or ``None``.

    A score-based relapse needs two *consecutive* assessments (no assessment between them) both
    at or above ``rule.threshold`` and ``min_gap_days``-``max_gap_days`` apart. Any event
    (hospitalisation, suicide attempt ...) is a relapse dated at its start (SUSTAIN-1) [V].

    Examples
    --------
    >>> s = [Assessment(datetime(2024, 3, 1), 24), Assessment(datetime(2024, 3, 4), 25)]
    >>> detect_relapse(s, SUSTAIN1_MADRS) is None
    True
    >>> s = [Assessment(datetime(2024, 3, 1), 24), Assessment(datetime(2024, 3, 8), 25)]
    >>> detect_relapse(s, SUSTAIN1_MADRS).when.day
    8
    """
    found: list[Relapse] = [
        Relapse(e.when, f"event:{e.kind}", "SUSTAIN-1 relapse events (NCT02493868) [V]")
        for e in events
    ]
    ordered = sorted(assessments, key=lambda a: a.when)
    for a, b in itertools.pairwise(ordered):
        gap = (b.when - a.when).total_seconds() / 86400
        both = a.total >= rule.threshold and b.total >= rule.threshold
        if both and rule.min_gap_days <= gap <= rule.max_gap_days:
            when = b.when if rule.date_on == "second" else a.when
            found.append(Relapse(when, "score", rule.source))
            break
    return min(found, key=lambda r: r.when) if found else None


@dataclass(frozen=True, slots=True)
class Outcome:
    """Outcome of one instrument for one patient at one assessment."""

    instrument_id: str
    baseline: Assessment | None
    current: Assessment
    change: float | None
    percent_change: float | None
    response: bool | None
    remission: bool | None
    mcid_improved: bool | None
    rci: float | None
    reliable_improvement: bool | None
    relapse: Relapse | None


def outcome(
    instrument_id: str,
    assessments: Sequence[Assessment],
    first_treatment: datetime | None = None,
    *,
    chosen_baseline: datetime | None = None,
    events: Sequence[RelapseEvent] = (),
    config: OutcomeConfig = DEFAULT_OUTCOME_CONFIG,
) -> Outcome:
    """Summarise outcomes at the latest assessment against an explicit baseline.

    Raises
    ------
    InvalidAnswer
        Field ``assessments`` when the series is empty.
    """
    if not assessments:
        raise InvalidAnswer("assessments", "needs at least one assessment")
    base = select_baseline(assessments, first_treatment, chosen_baseline)
    current = max(assessments, key=lambda a: a.when)
    rule = config.relapse.get(instrument_id) or {
        "madrs": SUSTAIN1_MADRS,
        "phq9": PHQ9_RELAPSE_DEFAULT,
    }.get(instrument_id)
    after = [a for a in assessments if base is None or a.when > base.when]
    relapse = detect_relapse(after, rule, events) if rule is not None else None
    m = mcid(instrument_id, config)
    params = config.rci.get(instrument_id)
    if base is None:
        return Outcome(
            instrument_id, None, current, None, None, None,
            is_remission(instrument_id, current.total, config), None, None, None, relapse,
        )  # fmt: skip
    rci = reliable_change_index(base.total, current.total, params) if params else None
    return Outcome(
        instrument_id=instrument_id,
        baseline=base,
        current=current,
        change=current.total - base.total,
        percent_change=percent_change(base.total, current.total),
        response=is_response(base.total, current.total, config.response_reduction),
        remission=is_remission(instrument_id, current.total, config),
        mcid_improved=None if m is None else base.total - current.total >= m,
        rci=rci,
        reliable_improvement=None if rci is None else rci < -RCI_CRITICAL,
        relapse=relapse,
    )
