"""The intake record as typed, frozen domain objects.

Every clinical fact is optional: ``None`` means *unknown / not asked*, which is distinct from
``False`` (*asked, and no*). Rules that need an unknown fact report it as missing instead of
guessing. A database model maps one-to-one onto these classes; the JSON form is read and
written by :mod:`ketacare.domain.intake.json_file` and documented in ``docs/intake.md``.

Units: age in whole years, weight in kg, height in cm, doses in mg/day, trial length in weeks,
blood pressure in mmHg, benzodiazepine dose in mg/day lorazepam equivalents.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Final, Literal, get_args

Sex = Literal["female", "male", "other"]
TrialOutcome = Literal["remission", "response", "partial_response", "no_response", "not_tolerated"]
DrugClass = Literal[
    "ssri",
    "snri",
    "tca",
    "maoi",
    "bupropion",
    "mirtazapine",
    "vortioxetine",
    "trazodone",
    "agomelatine",
    "other",
]
SubstanceRecency = Literal["current", "within_12_months", "over_12_months"]
ChildPugh = Literal["A", "B", "C"]
CssrsLevel = Literal["none", "low", "moderate", "high"]
MsmSeverity = Literal["subsyndromal", "mild", "moderate", "severe", "severe_psychotic"]

# The allowed values, derived from the Literal types above (one source for each list).
SEXES: Final[tuple[Sex, ...]] = get_args(Sex)
TRIAL_OUTCOMES: Final[tuple[TrialOutcome, ...]] = get_args(TrialOutcome)
#: Outcomes that count as a failed trial: less than 50% improvement (Rybak 2021, clinical.md §4.1).
FAILED_OUTCOMES: Final[frozenset[str]] = frozenset({"partial_response", "no_response"})
DRUG_CLASSES: Final[tuple[DrugClass, ...]] = get_args(DrugClass)
RECENCIES: Final[tuple[SubstanceRecency, ...]] = get_args(SubstanceRecency)
CHILD_PUGH: Final[tuple[ChildPugh, ...]] = get_args(ChildPugh)
CSSRS_LEVELS: Final[tuple[CssrsLevel, ...]] = get_args(CssrsLevel)
MSM_SEVERITIES: Final[tuple[MsmSeverity, ...]] = get_args(MsmSeverity)


@dataclass(frozen=True, slots=True)
class Demographics:
    """Age (years), sex, weight (kg) and height (cm); each ``None`` when unknown."""

    age_years: int | None = None
    sex: Sex | None = None
    weight_kg: float | None = None
    height_cm: float | None = None


@dataclass(frozen=True, slots=True)
class EpisodeHistory:
    """Start date of the current depressive episode and the lifetime number of episodes."""

    current_episode_start: date | None = None
    number_of_episodes: int | None = None


@dataclass(frozen=True, slots=True)
class AntidepressantTrial:
    """One antidepressant trial.

    Attributes
    ----------
    drug : str
        Generic name, e.g. ``"sertraline"``.
    drug_class : DrugClass, optional
        Needed for Thase-Rush staging (clinical.md §4.3).
    dose_mg_per_day : float, optional
        Highest daily dose reached, mg/day.
    weeks : float, optional
        Weeks at that dose.
    adequate_dose : bool, optional
        Clinician's judgement that the dose was adequate (evidence-supported).
    outcome : TrialOutcome, optional
        ``partial_response`` and ``no_response`` (< 50 % improvement) count as failure.
    current_episode : bool, optional
        Whether the trial was in the current episode; only those count for TRD.
    """

    drug: str
    drug_class: DrugClass | None = None
    dose_mg_per_day: float | None = None
    weeks: float | None = None
    adequate_dose: bool | None = None
    outcome: TrialOutcome | None = None
    current_episode: bool | None = True


@dataclass(frozen=True, slots=True)
class TreatmentHistory:
    """Antidepressant trials and other treatments.

    ``ect_bilateral_failed`` is only needed for Thase-Rush stage V.
    """

    antidepressant_trials: tuple[AntidepressantTrial, ...] | None = None
    augmentation: bool | None = None
    psychotherapy: bool | None = None
    ect: bool | None = None
    ect_bilateral_failed: bool | None = None


@dataclass(frozen=True, slots=True)
class MedicalHistory:
    """Medical and psychiatric history relevant to ketamine and esketamine.

    ``hypertension_controlled`` is read only when ``hypertension`` is true; ``child_pugh`` only
    when ``hepatic_impairment`` is true; ``substances`` and ``substance_use_recency`` only when
    ``substance_use_disorder`` is true. ``benzodiazepine_lorazepam_eq_mg`` is the daily dose in
    mg lorazepam equivalents (0 when none).
    """

    hypertension: bool | None = None
    hypertension_controlled: bool | None = None
    aneurysmal_vascular_disease: bool | None = None
    arteriovenous_malformation: bool | None = None
    intracerebral_haemorrhage: bool | None = None
    cardiac_disease: bool | None = None
    hepatic_impairment: bool | None = None
    child_pugh: ChildPugh | None = None
    pregnant_or_lactating: bool | None = None
    psychotic_disorder: bool | None = None
    mania_or_hypomania: bool | None = None
    substance_use_disorder: bool | None = None
    substances: tuple[str, ...] = ()
    substance_use_recency: SubstanceRecency | None = None
    benzodiazepine_lorazepam_eq_mg: float | None = None
    maoi: bool | None = None
    psychostimulant: bool | None = None
    ketamine_hypersensitivity: bool | None = None


@dataclass(frozen=True, slots=True)
class BloodPressure:
    """Latest blood pressure, mmHg, with the day it was taken."""

    systolic_mmhg: int
    diastolic_mmhg: int
    measured_on: date | None = None


@dataclass(frozen=True, slots=True)
class Screening:
    """Instrument answers used by the rules.

    Attributes
    ----------
    phq9 : tuple of (int or None), optional
        PHQ-9 items 1-9 (0-3); single items may be ``None`` when unanswered.
    phq9_difficulty : int, optional
        PHQ-9 item 10 (0-3); informs criterion B but is not an attestation.
    cssrs_risk : CssrsLevel, optional
        C-SSRS screener triage level (``none``/``low``/``moderate``/``high``), ``None`` when not
        done. Computed elsewhere (``ketacare.domain.instruments``); clinical.md §2.7.
    """

    phq9: tuple[int | None, ...] | None = None
    phq9_difficulty: int | None = None
    cssrs_risk: CssrsLevel | None = None


@dataclass(frozen=True, slots=True)
class Dsm5Attestations:
    """Clinician attestations for DSM-5 criteria B-E (the PHQ-9 cannot assess them).

    Each is ``True`` when the criterion is met, ``False`` when not, ``None`` when not yet
    assessed: B distress or impairment; C not attributable to a substance or another medical
    condition; D not better explained by a psychotic disorder; E no manic or hypomanic episode
    ever (substance- or medically induced episodes excepted).
    """

    b_distress_or_impairment: bool | None = None
    c_not_substance_or_medical: bool | None = None
    d_not_psychotic_disorder: bool | None = None
    e_no_mania_or_hypomania: bool | None = None


@dataclass(frozen=True, slots=True)
class Intake:
    """A complete intake: everything the DSM-5, TRD, eligibility and pathway rules read.

    ``assessed_on`` anchors the episode duration; ``clinician_severity`` overrides the MSM
    severity that is otherwise derived from the PHQ-9 band.
    """

    assessed_on: date | None = None
    demographics: Demographics = field(default_factory=Demographics)
    episode: EpisodeHistory = field(default_factory=EpisodeHistory)
    treatment: TreatmentHistory = field(default_factory=TreatmentHistory)
    medical: MedicalHistory = field(default_factory=MedicalHistory)
    family_history_mental_illness: bool | None = None
    blood_pressure: BloodPressure | None = None
    screening: Screening = field(default_factory=Screening)
    dsm5: Dsm5Attestations = field(default_factory=Dsm5Attestations)
    clinician_severity: MsmSeverity | None = None


def completed_months(start: date, end: date) -> int:
    """Whole calendar months from ``start`` to ``end`` (floor; 0 when ``end`` precedes).

    The MSM prints acute as <= 12 months and sub-acute as 13-24 months (clinical.md §4.2);
    counting *completed* months closes the gap, so 12.5 months counts as 12 (acute).

    Examples
    --------
    >>> completed_months(date(2024, 1, 31), date(2025, 1, 30))
    11
    >>> completed_months(date(2024, 1, 31), date(2025, 1, 31))
    12
    """
    months = (end.year - start.year) * 12 + (end.month - start.month)
    if end.day < start.day:
        months -= 1
    return max(months, 0)
