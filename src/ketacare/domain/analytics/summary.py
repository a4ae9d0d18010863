"""Clinic outcome summaries: rates with Wilson intervals, Kaplan–Meier curves, breakdowns.

:func:`analyse_outcomes` is the entry point used by the CLI, the reports and the pages; its
result, :class:`OutcomeAnalysis`, carries the :class:`~.definitions.Definitions` behind every
figure and renders to JSON with :meth:`OutcomeAnalysis.as_dict`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from ketacare.domain.analytics.cohort import AssessmentTable, PatientTable, SessionTable
from ketacare.domain.analytics.definitions import (
    AnalyticsConfig,
    Definitions,
    age_band_labels,
    resolve_definitions,
)
from ketacare.domain.analytics.patients import PatientOutcomes, compute_patient_outcomes
from ketacare.domain.analytics.published import (
    PublishedComparison,
    PublishedRate,
    compare_with_published,
    remission_cut,
)
from ketacare.domain.analytics.stats import (
    ChangeSummary,
    KaplanMeier,
    Proportion,
    kaplan_meier,
    proportion,
    summarise_change,
)

__all__ = [
    "BreakdownKey",
    "KmInputs",
    "OutcomeAnalysis",
    "OutcomeSummary",
    "TimepointOutcome",
    "analyse_outcomes",
    "km_inputs",
    "summarise",
]

B = NDArray[np.bool_]
F64 = NDArray[np.float64]
BreakdownKey = Literal["protocol", "sex", "age-band"]


@dataclass(frozen=True, slots=True)
class TimepointOutcome:
    """Response, remission and change at one timepoint.

    Attributes
    ----------
    label : str
        ``"end_of_induction"``, ``"day_28"`` ... or ``"ever"``.
    day : float or None
        Target day after the first session (``None`` for end of induction and "ever").
    n_eligible : int
        Patients with a valid baseline.
    n_observed : int
        Of those, patients with an assessment counting for this timepoint.
    response, remission : Proportion
        Rates with Wilson intervals (``remission`` is ``None`` when the instrument has no
        remission threshold).
    change : ChangeSummary
        Change from baseline among observed patients, points.
    """

    label: str
    day: float | None
    n_eligible: int
    n_observed: int
    response: Proportion
    remission: Proportion | None
    change: ChangeSummary

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "label": self.label,
            "day": self.day,
            "n_eligible": self.n_eligible,
            "n_observed": self.n_observed,
            "response": self.response.as_dict(),
            "remission": None if self.remission is None else self.remission.as_dict(),
            "change": self.change.as_dict(),
        }


@dataclass(frozen=True, slots=True)
class OutcomeSummary:
    """Outcomes of one group of patients (the whole clinic, or one breakdown group).

    Attributes
    ----------
    group : str
        ``"all"`` or the group value (``"esketamine-trd"``, ``"female"``, ``"35-44"`` ...).
    n_patients : int
        Treated patients (at least one session).
    n_analysable : int
        Of those, patients with a valid baseline.
    induction_completed : Proportion
        Completed the induction course of their protocol, among treated patients.
    dropout_after_first : Proportion
        No second session, among treated patients.
    end_of_induction : TimepointOutcome
        Headline figures.
    timepoints : tuple of TimepointOutcome
        At each fixed day.
    ever : TimepointOutcome
        Response / remission at any assessment after the first session.
    time_to_response : KaplanMeier
        From the first session, among analysable patients with a later assessment.
    time_to_relapse : KaplanMeier or None
        From the first response (or remission), among those patients; ``None`` when the
        instrument has no relapse rule.
    """

    group: str
    n_patients: int
    n_analysable: int
    induction_completed: Proportion
    dropout_after_first: Proportion
    end_of_induction: TimepointOutcome
    timepoints: tuple[TimepointOutcome, ...]
    ever: TimepointOutcome
    time_to_response: KaplanMeier
    time_to_relapse: KaplanMeier | None

    def km_response_by(self, day: float) -> float:
        """Kaplan–Meier probability of response by ``day`` (not a crude proportion)."""
        return self.time_to_response.cumulative_incidence_at(day)

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form (headline keys first)."""
        eoi = self.end_of_induction
        rem = eoi.remission
        return {
            "group": self.group,
            "n_patients": self.n_patients,
            "n_analysable": self.n_analysable,
            "response_rate": eoi.response.rate,
            "response_ci": eoi.response.as_dict()["ci"],
            "remission_rate": None if rem is None else rem.rate,
            "remission_ci": None if rem is None else rem.as_dict()["ci"],
            "induction_completed": self.induction_completed.as_dict(),
            "dropout_after_first": self.dropout_after_first.as_dict(),
            "end_of_induction": eoi.as_dict(),
            "timepoints": [t.as_dict() for t in self.timepoints],
            "ever": self.ever.as_dict(),
            "kaplan_meier": self.time_to_response.as_dict(),
            "km_response_by_day": {
                f"{t.day:g}": self.km_response_by(t.day)
                for t in self.timepoints
                if t.day is not None
            },
            "kaplan_meier_relapse": None
            if self.time_to_relapse is None
            else self.time_to_relapse.as_dict(),
        }


def _timepoint(
    label: str,
    day: float | None,
    current: F64,
    per: PatientOutcomes,
    mask: B,
    definitions: Definitions,
    config: AnalyticsConfig,
) -> TimepointOutcome:
    eligible = mask & per.analysable
    observed = eligible & ~np.isnan(current)
    base = per.baseline_total
    with np.errstate(invalid="ignore", divide="ignore"):
        resp = observed & ((base - current) / base >= definitions.response_reduction)
    among = eligible if config.missing_as_failure else observed
    cut = definitions.remission_threshold
    rem = None if cut is None else proportion(observed & (current <= cut), among)
    ch = summarise_change(current[observed] - base[observed], base[observed])
    resp_p = proportion(resp, among)
    conf = config.confidence
    return TimepointOutcome(
        label,
        day,
        int(eligible.sum()),
        int(observed.sum()),
        Proportion(resp_p.k, resp_p.n, conf),
        None if rem is None else Proportion(rem.k, rem.n, conf),
        ch,
    )


@dataclass(frozen=True, slots=True)
class _KmInput:
    """Per-patient time to event (NaN: not in the analysis), sorted once for all groups."""

    duration: F64
    event: B
    order: NDArray[np.intp]


@dataclass(frozen=True, slots=True)
class KmInputs:
    """Sorted Kaplan–Meier inputs of a whole clinic (see :func:`km_inputs`)."""

    response: _KmInput
    relapse: _KmInput | None


def _km_input(duration: F64, event: B) -> _KmInput:
    return _KmInput(duration, event, np.argsort(duration, kind="stable"))


def km_inputs(per: PatientOutcomes, definitions: Definitions, config: AnalyticsConfig) -> KmInputs:
    """Time to response from day 0 (censored at the last assessment) among analysable
    patients with a later assessment, and time to relapse from the first response (or
    remission) among those who had one."""
    seen = per.analysable & ~np.isnan(per.last_day)
    responded = ~np.isnan(per.response_day)
    t_resp = np.where(seen, np.where(responded, per.response_day, per.last_day), np.nan)
    rel: _KmInput | None = None
    if definitions.relapse_rule is not None:
        origin = per.response_day if config.relapse_origin == "response" else per.remission_day
        relapsed = ~np.isnan(per.relapse_day)
        end = np.where(relapsed, per.relapse_day, per.last_day)
        rel = _km_input(np.where(seen & ~np.isnan(origin), end - origin, np.nan), relapsed)
    return KmInputs(_km_input(t_resp, seen & responded), rel)


def _km(inp: _KmInput, mask: B, confidence: float) -> KaplanMeier:
    o = inp.order
    sel = o[mask[o] & ~np.isnan(inp.duration[o])]
    return kaplan_meier(inp.duration[sel], inp.event[sel], confidence, presorted=True)


def summarise(
    per: PatientOutcomes,
    mask: B,
    definitions: Definitions,
    config: AnalyticsConfig,
    group: str = "all",
    km: KmInputs | None = None,
) -> OutcomeSummary:
    """Summarise the patients selected by ``mask`` (boolean, one entry per patient).

    ``km`` (from :func:`km_inputs`) shares one sort among many groups of the same clinic.
    """
    conf = config.confidence
    km_inputs_ = km if km is not None else km_inputs(per, definitions, config)
    n = int(mask.sum())
    days = config.timepoints_days
    tps = tuple(
        _timepoint(f"day_{d:g}", d, per.timepoint_total[:, j], per, mask, definitions, config)
        for j, d in enumerate(days)
    )
    eoi = _timepoint("end_of_induction", None, per.eoi_total, per, mask, definitions, config)
    # "ever": k from the first-response / first-remission days, n = observed after day 0.
    elig = mask & per.analysable
    seen = elig & ~np.isnan(per.last_day)
    among = elig if config.missing_as_failure else seen
    ever_rem = (
        None
        if definitions.remission_threshold is None
        else Proportion(int((seen & ~np.isnan(per.remission_day)).sum()), int(among.sum()), conf)
    )
    ever = TimepointOutcome(
        "ever",
        None,
        int(elig.sum()),
        int(seen.sum()),
        Proportion(int((seen & ~np.isnan(per.response_day)).sum()), int(among.sum()), conf),
        ever_rem,
        ChangeSummary(0, None, None, None),
    )
    km_resp = _km(km_inputs_.response, mask, conf)
    km_rel = None if km_inputs_.relapse is None else _km(km_inputs_.relapse, mask, conf)
    treated = mask
    return OutcomeSummary(
        group=group,
        n_patients=n,
        n_analysable=int(elig.sum()),
        induction_completed=Proportion(int((per.induction_completed & mask).sum()), n, conf),
        dropout_after_first=Proportion(int(((per.n_sessions == 1) & treated).sum()), n, conf),
        end_of_induction=eoi,
        timepoints=tps,
        ever=ever,
        time_to_response=km_resp,
        time_to_relapse=km_rel,
    )


@dataclass(frozen=True, slots=True)
class OutcomeAnalysis:
    """Result of :func:`analyse_outcomes`.

    Attributes
    ----------
    definitions : Definitions
        Every rule behind the figures (show them beside every figure).
    overall : OutcomeSummary
        All treated patients.
    breakdowns : Mapping[str, tuple of OutcomeSummary]
        Per requested key (``"protocol"``, ``"sex"``, ``"age-band"``), one summary per group,
        sorted by group.
    published : tuple of PublishedComparison
        The clinic's figures beside each published rate given.
    patients : PatientOutcomes
        Per-patient values (for drill-down and trajectories).
    """

    definitions: Definitions
    overall: OutcomeSummary
    breakdowns: Mapping[str, tuple[OutcomeSummary, ...]]
    published: tuple[PublishedComparison, ...]
    patients: PatientOutcomes = field(repr=False)
    #: The clinic's figures recomputed at each published anchor's instrument, threshold and
    #: window (anchors of the analysed instrument only; see :func:`anchor_figures`).
    anchors: tuple[AnchorFigure, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form: the overall headline keys (``n_patients``, ``response_rate``,
        ``response_ci``, ``remission_rate``, ``remission_ci``, ``kaplan_meier`` ...), then
        ``definitions``, ``breakdowns`` and ``published``."""
        out = self.overall.as_dict()
        out["n_assessments_untreated"] = self.patients.n_assessments_untreated
        out["definitions"] = self.definitions.as_dict()
        out["breakdowns"] = {
            k: [s.as_dict() for s in groups] for k, groups in self.breakdowns.items()
        }
        out["published"] = [p.as_dict() for p in self.published]
        return out


@dataclass(frozen=True, slots=True)
class AnchorFigure:
    """The clinic beside one published anchor of the same instrument.

    Attributes
    ----------
    published : PublishedRate
    window : str
        The clinic's figure used: ``"end_of_induction"`` or ``"day_28"`` ...
    clinic : TimepointOutcome
        Response, and remission at the anchor's threshold, at that window: ``n_eligible``
        patients with a baseline, ``n_observed`` of them followed up (a score in the window).
    remission_threshold : float or None
        The anchor's remission cut the clinic's remission was recomputed at.
    differences : tuple of str
        What still differs (empty: same instrument, threshold and window).
    """

    published: PublishedRate
    window: str
    clinic: TimepointOutcome
    remission_threshold: float | None
    differences: tuple[str, ...]

    @property
    def matches(self) -> bool:
        """Same instrument, threshold and window."""
        return not self.differences

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "published": self.published.as_dict(),
            "window": self.window,
            "clinic": self.clinic.as_dict(),
            "remission_threshold": self.remission_threshold,
            "differences": list(self.differences),
        }


def anchor_figures(
    per: PatientOutcomes,
    definitions: Definitions,
    config: AnalyticsConfig,
    published: Sequence[PublishedRate],
) -> tuple[AnchorFigure, ...]:
    """The clinic's response and remission recomputed at each anchor's threshold and window.

    Only anchors on ``definitions.instrument`` with a response or remission rate are used.
    The window is the clinic's timepoint of the anchor's day when it has one
    (``config.timepoints_days``), else the end of induction with the difference named; an
    anchor at the end of a treatment series compares with the end of induction.

    >>> a = AssessmentTable.from_arrays("phq9", [1, 1, 2, 2], ["2024-01-01", "2024-01-29",
    ...     "2024-01-01", "2024-01-29"], [20, 8, 18, 4])
    >>> s = SessionTable.from_arrays([1, 2], ["2024-01-01", "2024-01-01"], "iv-ketamine-induction")
    >>> p = PublishedRate("X", "", 10, "response: PHQ-9 reduction >=50%; remission: PHQ-9 <5",
    ...     "day 28", 50.0, 25.0, "phq9", window_day=28.0)
    >>> f = analyse_outcomes(a, s, published=[p]).anchors[0]
    >>> f.window, f.clinic.response.k, f.clinic.remission.k, f.clinic.n_observed, f.matches
    ('day_28', 2, 1, 2, True)
    """
    mask = np.ones(len(per), bool)
    days = list(config.timepoints_days)
    out = []
    for p in published:
        if p.instrument != definitions.instrument:
            continue
        if p.response_pct is None and p.remission_pct is None:
            continue
        cut = remission_cut(p.definition)
        if cut is None:
            cut = definitions.remission_threshold
        defs = replace(definitions, remission_threshold=cut)
        diff: list[str] = []
        if p.window_day is not None and p.window_day in days:
            j = days.index(p.window_day)
            label, current = f"day_{p.window_day:g}", per.timepoint_total[:, j]
        else:
            label, current = "end_of_induction", per.eoi_total
            if p.window_day is not None:
                diff.append(f"window: published day {p.window_day:g} ({p.timepoint}), clinic "
                            "end of induction (no clinic timepoint on that day)")  # fmt: skip
        if p.kaplan_meier:
            diff.append("published rate is a Kaplan–Meier estimate, clinic rate a crude proportion")
        clinic = _timepoint(label, p.window_day if label != "end_of_induction" else None,
                            current, per, mask, defs, config)  # fmt: skip
        out.append(AnchorFigure(p, label, clinic, cut, tuple(diff)))
    return tuple(out)


def _group_values(per: PatientOutcomes, key: BreakdownKey) -> NDArray[np.str_]:
    return {"protocol": per.protocol, "sex": per.sex, "age-band": per.age_band}[key]


def _group_order(key: BreakdownKey, groups: list[str], cfg: AnalyticsConfig) -> list[int]:
    """Indices of ``groups`` in reading order: age bands youngest first ("<25" before
    "25-34", "65+" last, unknown after), others alphabetical."""
    if key != "age-band":
        return list(range(len(groups)))
    rank = {label: i for i, label in enumerate(age_band_labels(cfg.age_bands))}
    return sorted(range(len(groups)), key=lambda i: (rank.get(groups[i], len(rank)), groups[i]))


def analyse_outcomes(
    assessments: AssessmentTable,
    sessions: SessionTable,
    patients: PatientTable | None = None,
    *,
    config: AnalyticsConfig | None = None,
    by: Sequence[BreakdownKey] = (),
    published: Sequence[PublishedRate] = (),
) -> OutcomeAnalysis:
    """Analyse a clinic's outcomes on one instrument.

    Parameters
    ----------
    assessments : AssessmentTable
        Totals of the instrument (``assessments.instrument``), any order.
    sessions : SessionTable
        Treatment sessions, any order; the first session of a patient is day 0.
    patients : PatientTable, optional
        Sex and age at the first session, for breakdowns.
    config : AnalyticsConfig, optional
        Rules and windows; defaults from the clinical reference (§6).
    by : sequence of {"protocol", "sex", "age-band"}
        Breakdowns to compute.
    published : sequence of PublishedRate
        Published rates to put beside the clinic's figures (parse them with
        :func:`~ketacare.domain.analytics.published.parse_published_rates`).

    Returns
    -------
    OutcomeAnalysis

    Examples
    --------
    >>> a = AssessmentTable.from_arrays("phq9", [1, 1, 2, 2], ["2024-01-01", "2024-01-29",
    ...     "2024-01-01", "2024-01-29"], [20, 8, 18, 4])
    >>> s = SessionTable.from_arrays([1, 2], ["2024-01-01", "2024-01-01"], "iv-ketamine-induction")
    >>> r = analyse_outcomes(a, s)
    >>> r.overall.n_patients, r.overall.timepoints[1].response.k, r.overall.timepoints[1].n_observed
    (2, 2, 2)
    >>> r.overall.timepoints[1].remission.k
    1
    """
    cfg = config or AnalyticsConfig()
    defs = resolve_definitions(assessments.instrument, cfg)
    per = compute_patient_outcomes(assessments, sessions, patients, cfg)
    km = km_inputs(per, defs, cfg)
    everyone = np.ones(len(per), bool)
    overall = summarise(per, everyone, defs, cfg, km=km)
    breakdowns: dict[str, tuple[OutcomeSummary, ...]] = {}
    for key in by:
        groups, codes = np.unique(_group_values(per, key), return_inverse=True)
        order = _group_order(key, [str(g) for g in groups], cfg)
        breakdowns[key] = tuple(
            summarise(per, codes == k, defs, cfg, group=str(groups[k]), km=km) for k in order
        )
    comparisons = compare_with_published(overall, defs, published)
    anchors = anchor_figures(per, defs, cfg, published)
    return OutcomeAnalysis(defs, overall, breakdowns, comparisons, per, anchors)
