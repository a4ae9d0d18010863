"""Configuration of the clinic analytics and the resolved definitions shown with every figure.

Per-patient rules (baseline, response, remission threshold, relapse rule) come from
:mod:`ketacare.domain.mbc.outcomes` and the instrument definitions; this module adds the cohort
rules: the induction course, the fixed timepoints and their windows, denominators and
breakdown bands. Values that the clinical reference does not fix are ketacare choices, marked
[U] in :attr:`Definitions.unverified` and configurable here.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

from ketacare.domain.course.protocols import builtin_protocols
from ketacare.domain.errors import DomainError
from ketacare.domain.instruments import get_instrument
from ketacare.domain.mbc.outcomes import (
    DEFAULT_OUTCOME_CONFIG,
    PHQ9_RELAPSE_DEFAULT,
    SUSTAIN1_MADRS,
    OutcomeConfig,
    RelapseRule,
    remission_threshold,
)

__all__ = [
    "DEFAULT_AGE_BANDS",
    "AnalyticsConfig",
    "Definitions",
    "InductionRule",
    "age_band_labels",
    "default_induction_rules",
    "relapse_rule",
    "resolve_definitions",
]

BaselineRule = Literal["last_before_first_session", "first_before_first_session"]

#: Lower edges of the age bands, years: <25, 25-34, ..., 65+ (ketacare choice).
DEFAULT_AGE_BANDS: tuple[int, ...] = (25, 35, 45, 55, 65)


@dataclass(frozen=True, slots=True)
class InductionRule:
    """The induction course: ``sessions`` sessions within ``window_days`` of the first.

    Attributes
    ----------
    sessions : int
        Sessions that make a complete induction.
    window_days : float
        Days from the first session within which they must fall.
    source : str
        Where the rule comes from (a protocol file, or a clinic setting).
    """

    sessions: int
    window_days: float
    source: str = ""


#: Used for sessions whose protocol has no induction phase: the IV ketamine course of six
#: infusions within 21 days (Oliver 2022; ketacare protocol ``iv-ketamine-induction``).
FALLBACK_INDUCTION = InductionRule(
    6, 21, "fallback: 6 sessions within 21 days (iv-ketamine-induction; Oliver 2022)"
)


@cache
def default_induction_rules() -> Mapping[str, InductionRule]:
    """Induction rules of the built-in protocols, from each protocol's first phase.

    The window is the phase's ``max_span_days`` when given, otherwise
    ``ceil(sessions / per_week)`` weeks (esketamine: 8 sessions at 2 a week = 28 days), or
    ``sessions x interval_days`` for interval phases.
    """
    out: dict[str, InductionRule] = {}
    for pid, proto in builtin_protocols().items():
        ph = proto.phases[0]
        if ph.max_span_days is not None:
            window = float(ph.max_span_days)
        elif ph.per_week:
            window = 7.0 * math.ceil(ph.sessions / ph.per_week)
        else:  # a phase has exactly one of per_week and interval_days (protocol file rule)
            assert ph.interval_days is not None
            window = float(ph.sessions * ph.interval_days)
        out[pid] = InductionRule(
            ph.sessions, window, f"protocol {pid} v{proto.version}, phase '{ph.name}'"
        )
    return out


@dataclass(frozen=True, slots=True)
class AnalyticsConfig:
    """Clinic settings of the outcome analytics (defaults in brackets).

    Attributes
    ----------
    outcome : OutcomeConfig
        Per-patient rules shared with :mod:`ketacare.domain.mbc.outcomes`: response reduction
        [0.5, V], remission thresholds [instrument default], relapse rules [SUSTAIN-1 for the
        MADRS, V; PHQ-9 >= 10 twice 5-15 days apart, U].
    baseline : {"last_before_first_session", "first_before_first_session"}
        Baseline = the last assessment at or before the first session [default], or the first
        one (a screening value, as Lii 2023) [V: the rule must be explicit].
    baseline_max_days_before : float or None
        Ignore baselines older than this many days before the first session [None].
    min_baseline_total : float or None
        Only patients with a baseline total at or above this are analysed [None: > 0].
    timepoints_days : tuple of float
        Fixed days after the first session [14, 28, 42].
    timepoint_window_days : float
        The assessment nearest the target day within ± this many days counts [7, U].
    induction : Mapping[str, InductionRule]
        Induction rule per protocol id [from the protocol files]; others use ``fallback``.
    induction_grace_days : float
        End-of-induction value = the last assessment up to this many days after the last
        induction session [7, U].
    relapse_origin : {"response", "remission"}
        Relapse is looked for after the first response [default] or first remission [U].
    missing_as_failure : bool
        Count patients with a baseline but no assessment at a timepoint as non-responders
        (non-responder imputation) instead of leaving them out [False: observed cases].
    age_bands : tuple of int
        Lower edges of the age bands, years.
    confidence : float
        Coverage of every interval [0.95].
    """

    outcome: OutcomeConfig = DEFAULT_OUTCOME_CONFIG
    baseline: BaselineRule = "last_before_first_session"
    baseline_max_days_before: float | None = None
    min_baseline_total: float | None = None
    timepoints_days: tuple[float, ...] = (14.0, 28.0, 42.0)
    timepoint_window_days: float = 7.0
    induction: Mapping[str, InductionRule] = field(default_factory=default_induction_rules)
    fallback_induction: InductionRule = FALLBACK_INDUCTION
    induction_grace_days: float = 7.0
    relapse_origin: Literal["response", "remission"] = "response"
    missing_as_failure: bool = False
    age_bands: tuple[int, ...] = DEFAULT_AGE_BANDS
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if any(d <= 0 for d in self.timepoints_days):
            raise DomainError("timepoints must be days > 0 after the first session")
        if self.timepoint_window_days < 0 or self.induction_grace_days < 0:
            raise DomainError("windows must be >= 0 days")
        if list(self.age_bands) != sorted(set(self.age_bands)):
            raise DomainError("age band edges must be strictly increasing")
        if not 0 < self.outcome.response_reduction <= 1:
            raise DomainError("response reduction must be in (0, 1]")


def relapse_rule(instrument_id: str, config: OutcomeConfig) -> RelapseRule | None:
    """The relapse rule for an instrument, chosen as :func:`ketacare.domain.mbc.outcomes.outcome`
    does: the clinic's rule, else SUSTAIN-1 for the MADRS or the PHQ-9 default."""
    return config.relapse.get(instrument_id) or {
        "madrs": SUSTAIN1_MADRS,
        "phq9": PHQ9_RELAPSE_DEFAULT,
    }.get(instrument_id)


def age_band_labels(edges: tuple[int, ...]) -> tuple[str, ...]:
    """Labels for bands with lower edges ``edges``: ``("<25", "25-34", ..., "65+")``."""
    if not edges:
        return ("all ages",)
    labels = [f"<{edges[0]}"]
    labels += [f"{a}-{b - 1}" for a, b in itertools.pairwise(edges)]
    return (*labels, f"{edges[-1]}+")


@dataclass(frozen=True, slots=True)
class Definitions:
    """Every definition behind the figures, resolved for one analysis (shown beside them)."""

    instrument: str
    instrument_name: str
    baseline: str
    response: str
    response_reduction: float
    remission: str | None
    remission_threshold: float | None
    relapse: str | None
    relapse_rule: RelapseRule | None
    relapse_origin: str
    timepoints: str
    end_of_induction: str
    induction: Mapping[str, InductionRule]
    fallback_induction: InductionRule
    denominator: str
    dropout: str
    time_to_response: str
    interval: str
    unverified: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        rule = self.relapse_rule
        return {
            "instrument": self.instrument,
            "instrument_name": self.instrument_name,
            "baseline": self.baseline,
            "response": self.response,
            "response_reduction": self.response_reduction,
            "remission": self.remission,
            "remission_threshold": self.remission_threshold,
            "relapse": self.relapse,
            "relapse_threshold": None if rule is None else rule.threshold,
            "relapse_gap_days": None if rule is None else [rule.min_gap_days, rule.max_gap_days],
            "relapse_origin": self.relapse_origin,
            "timepoints": self.timepoints,
            "end_of_induction": self.end_of_induction,
            "induction": {
                k: {"sessions": v.sessions, "window_days": v.window_days, "source": v.source}
                for k, v in sorted(self.induction.items())
            },
            "fallback_induction": {
                "sessions": self.fallback_induction.sessions,
                "window_days": self.fallback_induction.window_days,
                "source": self.fallback_induction.source,
            },
            "denominator": self.denominator,
            "dropout": self.dropout,
            "time_to_response": self.time_to_response,
            "interval": self.interval,
            "unverified": list(self.unverified),
        }


def resolve_definitions(instrument_id: str, config: AnalyticsConfig) -> Definitions:
    """Resolve the definitions for ``instrument_id`` under ``config``.

    Raises
    ------
    InvalidAnswer
        When the instrument id is unknown.
    """
    inst = get_instrument(instrument_id)
    red = config.outcome.response_reduction
    cut = remission_threshold(instrument_id, config.outcome)
    rem_src = inst.remission.source if inst.remission is not None else ""
    if instrument_id in config.outcome.remission:
        rem_src = "clinic setting"
    rule = relapse_rule(instrument_id, config.outcome)
    base = (
        "last assessment at or before the first session"
        if config.baseline == "last_before_first_session"
        else "first assessment at or before the first session (screening value, as Lii 2023)"
    )
    if config.baseline_max_days_before is not None:
        base += f", at most {config.baseline_max_days_before:g} days before it"
    base += "; baseline total must be > 0"
    if config.min_baseline_total is not None:
        base += f" and >= {config.min_baseline_total:g}"
    unverified = [
        f"timepoint window ± {config.timepoint_window_days:g} days (ketacare choice) [U]",
        f"end of induction + {config.induction_grace_days:g} days grace (ketacare choice) [U]",
        f"relapse looked for after the first {config.relapse_origin} (ketacare choice) [U]",
    ]
    if rule is not None and "[U]" in rule.source:
        unverified.append(f"relapse rule: {rule.source}")
    if rule is not None and rule.date_on == "second":
        unverified.append("relapse dated at the confirming (second) assessment [U]")
    days = ", ".join(f"{d:g}" for d in config.timepoints_days)
    return Definitions(
        instrument=instrument_id,
        instrument_name=inst.short_name,
        baseline=base,
        response=f"{inst.short_name} total reduced by >= {red:.0%} from baseline "
        "(esketamine programme; Murrough 2013; Phillips 2019; McIntyre 2020; Oliver 2022; "
        "McInnes 2022) [V]",
        response_reduction=red,
        remission=None if cut is None else f"{inst.short_name} total <= {cut:g} ({rem_src})",
        remission_threshold=cut,
        relapse=None
        if rule is None
        else f"{inst.short_name} >= {rule.threshold:g} at 2 consecutive assessments "
        f"{rule.min_gap_days:g}-{rule.max_gap_days:g} days apart ({rule.source})",
        relapse_rule=rule,
        relapse_origin=config.relapse_origin,
        timepoints=f"days {days} after the first session: the assessment nearest the day "
        f"within ± {config.timepoint_window_days:g} days (ties: the earlier one)",
        end_of_induction="last assessment after the first session and no later than "
        f"{config.induction_grace_days:g} days after the last induction session (the n-th "
        "session of a completed induction, else the last session inside the window)",
        induction=dict(config.induction),
        fallback_induction=config.fallback_induction,
        denominator="patients with a baseline and an assessment at the timepoint"
        if not config.missing_as_failure
        else "all patients with a baseline; no assessment at the timepoint = not met",
        dropout="treated patients with no second session",
        time_to_response="Kaplan–Meier from the first session to the first assessment meeting "
        "response; censored at the last assessment. Kaplan–Meier rates are not crude "
        "proportions (clinical reference §6)",
        interval=f"Wilson score {config.confidence:.0%} interval (Wilson 1927)",
        unverified=tuple(unverified),
    )
