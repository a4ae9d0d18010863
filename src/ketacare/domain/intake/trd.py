"""Treatment-resistant depression: adequate failed trials, TRD, Maudsley and Thase-Rush staging.

Rules (clinical.md §4):

* An *adequate failed trial* is in the current episode, judged adequately dosed, lasted at
  least ``TrdConfig.min_weeks`` weeks (default 6 [U]; 4 allowed per Rybak 2021) and ended in
  partial or no response (< 50 % improvement).
* TRD: adequate failed trials of at least ``TrdConfig.min_failed_trials`` (default 2)
  *different* antidepressants (EU SmPC 4.1: "at least two different antidepressant
  treatments"; clinical.md §4.1). Drugs are compared by
  :func:`ketacare.domain.intake.antidepressants.normalise_drug` (case, spacing, release form,
  brand -> generic), so two trials of sertraline (or "Sertraline " and "Zoloft") count once.
* Maudsley Staging Method (MSM): duration 1-3 + severity 1-5 + antidepressant failures 1-5 +
  augmentation 0-1 + ECT 0-1; total 3-15; bands mild 3-6, moderate 7-10, severe 11-15 [V].
  Failures are counted as different medications, as above.
* Thase-Rush stages 0-V from the drug classes of the adequate failed trials. The default
  ``strict`` reading (clinical.md §4.3) makes each stage add a failed trial to the previous
  one: stage III needs a failed TCA trial *beyond* the two trials of distinct classes that
  make stage II (SSRI + TCA is stage II), stage IV an MAOI trial beyond stage III. The
  ``loose`` reading (any TCA among two distinct classes is III; any MAOI on top is IV), seen
  in some secondary sources, is ``TrdConfig.thase_rush_reading = "loose"``.

Unknown facts never count as failures; they make the answer unknown and are named.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from ketacare.domain.errors import DomainError
from ketacare.domain.intake.antidepressants import normalise_drug
from ketacare.domain.intake.model import (
    FAILED_OUTCOMES,
    AntidepressantTrial,
    Intake,
    MsmSeverity,
    completed_months,
)
from ketacare.domain.mbc.screening import Band
from ketacare.domain.rules import (
    SRC_KETACARE_POLICY,
    SRC_MSM,
    SRC_THASE_RUSH,
    SRC_TRD,
    SRC_TRD_WEEKS,
    Reason,
)

MsmBand = Literal["mild", "moderate", "severe"]
ThaseRushReading = Literal["strict", "loose"]
#: Default mapping PHQ-9 band -> MSM severity [U] (a ketacare choice; the MSM rates severity
#: with the CGI or a psychiatric status rating, Fekadu 2018).
DEFAULT_SEVERITY_FROM_PHQ9: Final[dict[Band, MsmSeverity]] = {
    "none": "subsyndromal",
    "mild": "mild",
    "moderate": "moderate",
    "moderately_severe": "severe",
    "severe": "severe",
}
MSM_SEVERITY_SCORE: Final[dict[MsmSeverity, int]] = {
    "subsyndromal": 1,
    "mild": 2,
    "moderate": 3,
    "severe": 4,
    "severe_psychotic": 5,
}
THASE_RUSH_LABELS: Final = ("0", "I", "II", "III", "IV", "V")


@dataclass(frozen=True, slots=True)
class TrdConfig:
    """Configuration of the TRD rules.

    Attributes
    ----------
    min_weeks : float
        [U] Minimum trial length in weeks for an adequate trial. Default 6 (esketamine
        programme, ATRQ details unverified); 4 allowed (Rybak 2021: 4-6 weeks).
    min_failed_trials : int
        Adequate failed trials needed for TRD; default 2.
    severity_from_phq9 : dict
        [U] PHQ-9 band -> MSM severity when the clinician has not rated severity.
    thase_rush_reading : {"strict", "loose"}
        ``strict`` (default; clinical.md §4.3): each stage adds a failed trial, so stage III
        needs a TCA failure beyond the two distinct-class trials of stage II. ``loose``: a TCA
        among two distinct classes is already stage III.
    """

    min_weeks: float = 6.0
    min_failed_trials: int = 2
    severity_from_phq9: dict[Band, MsmSeverity] | None = None
    thase_rush_reading: ThaseRushReading = "strict"

    def __post_init__(self) -> None:
        if not 4 <= self.min_weeks <= 12:
            raise DomainError("min_weeks: must be from 4 to 12 weeks")
        if self.min_failed_trials < 1:
            raise DomainError("min_failed_trials: must be at least 1")
        if self.thase_rush_reading not in ("strict", "loose"):
            raise DomainError("thase_rush_reading: must be strict or loose")


@dataclass(frozen=True, slots=True)
class TrdResult:
    """Adequate failed trials and TRD status (``trd`` is ``None`` when undetermined).

    ``adequate_failures`` counts different antidepressants (normalised names);
    ``adequate_failed_trials`` holds the first adequate failed trial of each of them.
    """

    adequate_failures: int
    uncertain_trials: int
    trd: bool | None
    adequate_failed_trials: tuple[AntidepressantTrial, ...]
    missing: tuple[str, ...]
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class MsmResult:
    """Maudsley Staging Method: each dimension score, ``total`` 3-15 and ``band``.

    ``total`` and ``band`` are ``None`` when a dimension is unknown (listed in ``missing``).
    """

    duration: int | None
    severity: int | None
    antidepressants: int | None
    augmentation: int | None
    ect: int | None
    total: int | None
    band: MsmBand | None
    missing: tuple[str, ...]
    reason: Reason


@dataclass(frozen=True, slots=True)
class ThaseRushResult:
    """Thase-Rush stage 0-5 (``label`` "0"-"V"); ``stage`` is a lower bound if ``uncertain``."""

    stage: int | None
    label: str | None
    uncertain: bool
    reason: Reason


def trial_status(trial: AntidepressantTrial, config: TrdConfig) -> bool | None:
    """Return ``True`` for an adequate failed trial, ``False`` if not, ``None`` if unknown."""
    checks: list[bool | None] = [
        trial.current_episode,
        trial.adequate_dose,
        None if trial.weeks is None else trial.weeks >= config.min_weeks,
        None if trial.outcome is None else trial.outcome in FAILED_OUTCOMES,
    ]
    if any(c is False for c in checks):
        return False
    if any(c is None for c in checks):
        return None
    return True


def classify_trials(
    trials: tuple[AntidepressantTrial, ...], config: TrdConfig
) -> tuple[dict[str, AntidepressantTrial], dict[str, list[str]], int]:
    """Group trials by normalised drug name.

    Returns the first adequate failed trial of each different drug, the fields of the
    unjudged trials of each drug, and the number of adequate failed trials.
    """
    failed: dict[str, AntidepressantTrial] = {}
    unknown: dict[str, list[str]] = {}
    n_failed_trials = 0
    for i, t in enumerate(trials):
        s = trial_status(t, config)
        key = normalise_drug(t.drug)
        if s is True:
            n_failed_trials += 1
            failed.setdefault(key, t)
        elif s is None:
            unknown.setdefault(key, []).append(f"treatment.antidepressant_trials[{i}] ({t.drug})")
    return failed, unknown, n_failed_trials


def assess_trd(intake: Intake, config: TrdConfig = TrdConfig()) -> TrdResult:
    """Count adequate failed antidepressant trials in the current episode and decide TRD.

    Examples
    --------
    >>> from ketacare.domain.intake.model import TreatmentHistory as TH
    >>> t = AntidepressantTrial("sertraline", "ssri", 150, 8, True, "no_response")
    >>> u = AntidepressantTrial("venlafaxine", "snri", 225, 5, True, "no_response")
    >>> assess_trd(Intake(treatment=TH(antidepressant_trials=(t, u)))).trd
    False
    >>> assess_trd(Intake(treatment=TH(antidepressant_trials=(t, u))), TrdConfig(min_weeks=4)).trd
    True
    """
    trials = intake.treatment.antidepressant_trials
    weeks_note = f"adequate dose, >= {config.min_weeks:g} weeks [U], < 50 % improvement"
    if trials is None:
        r = Reason("TRD-TRIALS", "Antidepressant trial history not recorded.", SRC_TRD)
        return TrdResult(0, 0, None, (), ("treatment.antidepressant_trials",), (r,))
    failed, unknown, n_failed_trials = classify_trials(trials, config)
    n = len(failed)
    u = sum(len(v) for v in unknown.values())
    new_drugs = [k for k in unknown if k not in failed]  # only these could add a drug
    need = config.min_failed_trials
    trd: bool | None = True if n >= need else (False if n + len(new_drugs) < need else None)
    names = ", ".join(failed) or "none"
    verdict = {True: "meets", False: "does not meet", None: "cannot yet be decided for"}[trd]
    reasons = (
        Reason(
            "TRD-ADEQUATE",
            f"{n_failed_trials} adequate failed trial(s) of {n} different antidepressant(s) in "
            f"the current episode ({names}; names compared by generic, ignoring case and "
            f"spacing); adequate means {weeks_note}; {u} trial(s) lack facts to judge.",
            SRC_TRD_WEEKS,
        ),
        Reason(
            "TRD-DEF",
            f"The history {verdict} the TRD definition (adequate failed trials of >= {need} "
            "different antidepressants in the current episode; two trials of one drug count "
            "once).",
            SRC_TRD,
        ),
    )
    missing = [f for k in new_drugs for f in unknown[k]] if trd is None else []
    return TrdResult(n, u, trd, tuple(failed.values()), tuple(missing), reasons)


def _msm_band(total: int) -> MsmBand:
    return "mild" if total <= 6 else "moderate" if total <= 10 else "severe"


def msm_antidepressant_score(n_failures: int) -> int:
    """MSM antidepressant score: 1-2 failures -> 1, 3-4 -> 2, 5-6 -> 3, 7-10 -> 4, > 10 -> 5.

    Zero failures scores 1 as in clinical.md §8 (the MSM assumes at least one).
    """
    if n_failures <= 2:
        return 1
    if n_failures <= 4:
        return 2
    if n_failures <= 6:
        return 3
    return 4 if n_failures <= 10 else 5


def maudsley_stage(
    intake: Intake, trd: TrdResult, phq9_band: Band | None, config: TrdConfig = TrdConfig()
) -> MsmResult:
    """Maudsley Staging Method total and band.

    Duration uses completed calendar months from ``episode.current_episode_start`` to
    ``assessed_on`` (acute <= 12, sub-acute 13-24, chronic > 24). Severity is
    ``intake.clinician_severity`` when given, else mapped from the PHQ-9 band [U].
    Antidepressant failures are the adequate failed trials of :func:`assess_trd`.

    References
    ----------
    Fekadu et al. 2009, J Clin Psychiatry 70:177; Fekadu, Donocik & Cleare 2018, BMC
    Psychiatry 18:100, Table 3.
    """
    missing: list[str] = []
    start, end = intake.episode.current_episode_start, intake.assessed_on
    duration: int | None = None
    if start is None or end is None:
        missing.append("episode.current_episode_start" if start is None else "assessed_on")
    else:
        m = completed_months(start, end)
        duration = 1 if m <= 12 else 2 if m <= 24 else 3
    sev_name = intake.clinician_severity
    if sev_name is None and phq9_band is not None:
        sev_name = (config.severity_from_phq9 or DEFAULT_SEVERITY_FROM_PHQ9)[phq9_band]
    severity = None if sev_name is None else MSM_SEVERITY_SCORE[sev_name]
    if severity is None:
        missing.append("screening.phq9 or clinician_severity")
    ad = None if trd.trd is None else msm_antidepressant_score(trd.adequate_failures)
    if ad is None:
        missing.extend(trd.missing)
    aug = None if intake.treatment.augmentation is None else int(intake.treatment.augmentation)
    ect = None if intake.treatment.ect is None else int(intake.treatment.ect)
    if aug is None:
        missing.append("treatment.augmentation")
    if ect is None:
        missing.append("treatment.ect")
    parts = (duration, severity, ad, aug, ect)
    if any(p is None for p in parts):
        text = f"MSM cannot be totalled; missing: {', '.join(missing)}."
        return MsmResult(*parts, None, None, tuple(missing), Reason("TRD-MSM", text, SRC_MSM))
    total = sum(p for p in parts if p is not None)
    band = _msm_band(total)
    text = (
        f"MSM {total}/15 ({band}): duration {duration} + severity {severity} ({sev_name}) + "
        f"antidepressant failures {ad} + augmentation {aug} + ECT {ect}."
    )
    return MsmResult(*parts, total, band, (), Reason("TRD-MSM", text, SRC_MSM))


def _stage_two(classes: list[str]) -> bool:
    """Stage II: failures in at least two clearly different classes."""
    return len(set(classes)) >= 2


def _strict_stage(classes: list[str]) -> int:
    """Strict reading: each stage adds one failed trial (one per different drug) to the last.

    II needs two trials of distinct classes; III a TCA trial beyond them; IV an MAOI trial
    beyond stage III. ``classes`` has one entry per different failed drug.
    """

    def without(cs: list[str], c: str) -> list[str]:
        out = list(cs)
        out.remove(c)
        return out

    def three(cs: list[str]) -> bool:
        return "tca" in cs and _stage_two(without(cs, "tca"))

    if not classes:
        return 0
    if not _stage_two(classes):
        return 1
    if not three(classes):
        return 2
    if "maoi" in classes and three(without(classes, "maoi")):
        return 4
    return 3


def _loose_stage(classes: list[str]) -> int:
    """Loose reading: a TCA among two distinct classes is III; an MAOI on top of that is IV."""
    if not classes:
        return 0
    if not _stage_two(classes):
        return 1
    if "tca" not in classes:
        return 2
    return 4 if "maoi" in classes else 3


def thase_rush_class_stage(classes: Sequence[str], reading: ThaseRushReading = "strict") -> int:
    """Stage 0-IV from the classes of the different failed drugs (ECT, stage V, not included)."""
    return (_strict_stage if reading == "strict" else _loose_stage)(list(classes))


def thase_rush_stage(
    intake: Intake, trd: TrdResult, config: TrdConfig = TrdConfig()
) -> ThaseRushResult:
    """Thase-Rush stage from the adequate failed trials (clinical.md §4.3).

    Stage I: >= 1 adequate failure; II: failures in >= 2 different classes; III: II plus a
    TCA; IV: III plus an MAOI; V: IV plus a failed course of bilateral ECT. Under the default
    ``strict`` reading each stage adds a failed trial (SSRI + TCA is II; SSRI + bupropion +
    TCA is III); ``TrdConfig.thase_rush_reading = "loose"`` counts a TCA among the two
    classes of stage II as III. A failed trial with no recorded class, or unknown trials, make
    the stage a lower bound (``uncertain``).

    Examples
    --------
    >>> from ketacare.domain.intake.model import TreatmentHistory as TH
    >>> ssri = AntidepressantTrial("sertraline", "ssri", 150, 8, True, "no_response")
    >>> tca = AntidepressantTrial("nortriptyline", "tca", 100, 8, True, "no_response")
    >>> i = Intake(treatment=TH(antidepressant_trials=(ssri, tca)))
    >>> thase_rush_stage(i, assess_trd(i)).label
    'II'
    >>> loose = TrdConfig(thase_rush_reading="loose")
    >>> thase_rush_stage(i, assess_trd(i, loose), loose).label
    'III'
    """
    failed = trd.adequate_failed_trials
    classes = [t.drug_class for t in failed if t.drug_class is not None]
    uncertain = trd.uncertain_trials > 0 or any(t.drug_class is None for t in failed)
    stage = thase_rush_class_stage(classes, config.thase_rush_reading)
    if stage == 4:
        ect = intake.treatment.ect_bilateral_failed
        if ect:
            stage = 5
        elif ect is None:
            uncertain = True
    label = THASE_RUSH_LABELS[stage]
    text = f"Thase-Rush stage {label} ({config.thase_rush_reading} reading)" + (
        " (at least; some trials lack class or adequacy facts)." if uncertain else "."
    )
    if intake.treatment.antidepressant_trials is None:
        return ThaseRushResult(
            None,
            None,
            True,
            Reason("TRD-THASE-RUSH", "Trial history not recorded.", SRC_THASE_RUSH),
        )
    src = SRC_THASE_RUSH if not uncertain else f"{SRC_THASE_RUSH}; {SRC_KETACARE_POLICY}"
    if config.thase_rush_reading == "loose":
        src += "; loose reading by configuration (TrdConfig.thase_rush_reading)"
    return ThaseRushResult(stage, label, uncertain, Reason("TRD-THASE-RUSH", text, src))
