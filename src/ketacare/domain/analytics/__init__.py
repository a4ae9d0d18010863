"""Clinic outcome analytics (pure): rates with Wilson intervals, Kaplan–Meier, breakdowns.

Per-patient rules come from :mod:`ketacare.domain.mbc.outcomes`; the cohort rules, their sources
and the values tagged [U] are in :mod:`ketacare.domain.analytics.definitions`.

Examples
--------
>>> from ketacare.domain.analytics import AssessmentTable, SessionTable, analyse_outcomes
>>> a = AssessmentTable.from_arrays("phq9", ["p1", "p1"], ["2024-01-01", "2024-01-15"], [20, 9])
>>> s = SessionTable.from_arrays(["p1"], ["2024-01-01"], ["iv-ketamine-induction"])
>>> r = analyse_outcomes(a, s)
>>> r.overall.timepoints[0].response.rate
1.0
"""

from __future__ import annotations

from ketacare.domain.analytics.cohort import AssessmentTable, PatientTable, SessionTable
from ketacare.domain.analytics.definitions import (
    AnalyticsConfig,
    Definitions,
    InductionRule,
    default_induction_rules,
    resolve_definitions,
)
from ketacare.domain.analytics.patients import PatientOutcomes, compute_patient_outcomes
from ketacare.domain.analytics.published import (
    TRIAL_ANCHORS,
    PublishedComparison,
    PublishedRate,
    compare_with_published,
    parse_published_rates,
    remission_cut,
)
from ketacare.domain.analytics.stats import (
    ChangeSummary,
    KaplanMeier,
    Proportion,
    kaplan_meier,
    summarise_change,
    wilson_interval,
)
from ketacare.domain.analytics.summary import (
    AnchorFigure,
    BreakdownKey,
    OutcomeAnalysis,
    OutcomeSummary,
    TimepointOutcome,
    analyse_outcomes,
    summarise,
)

__all__ = [
    "TRIAL_ANCHORS",
    "AnalyticsConfig",
    "AnchorFigure",
    "AssessmentTable",
    "BreakdownKey",
    "ChangeSummary",
    "Definitions",
    "InductionRule",
    "KaplanMeier",
    "OutcomeAnalysis",
    "OutcomeSummary",
    "PatientOutcomes",
    "PatientTable",
    "Proportion",
    "PublishedComparison",
    "PublishedRate",
    "SessionTable",
    "TimepointOutcome",
    "analyse_outcomes",
    "compare_with_published",
    "compute_patient_outcomes",
    "default_induction_rules",
    "kaplan_meier",
    "parse_published_rates",
    "remission_cut",
    "resolve_definitions",
    "summarise",
    "summarise_change",
    "wilson_interval",
]
