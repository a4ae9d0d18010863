"""Eligibility for IV racemic ketamine and for esketamine nasal spray.

Each check returns ``eligible``, ``not_eligible``, ``needs_review`` or ``incomplete`` with every
reason as a :class:`~ketacare.domain.rules.Reason` (rule id, text, source). Precedence:
a contraindication gives ``not_eligible``; otherwise any missing fact gives ``incomplete``
(naming it); otherwise any relative caution gives ``needs_review``; otherwise ``eligible``.

* Esketamine (clinical.md §5.2): US label contraindications (aneurysmal vascular disease,
  arteriovenous malformation, intracerebral haemorrhage, hypersensitivity) -> ``not_eligible``;
  indication: adults with TRD, or MDD with acute suicidal ideation or behaviour.
* IV ketamine is off-label (clinical.md §5.1). ketacare applies the esketamine vascular
  contraindications to it by policy (``apply_esketamine_contraindications_to_iv``); the
  practice exclusions are relative cautions.
* Cautions for both: uncontrolled hypertension or raised BP, cardiac disease, psychotic
  disorder, mania or hypomania, substance use disorder, pregnancy or lactation, hepatic
  impairment, benzodiazepines above a threshold [U], MAOIs or psychostimulants.

The result supports the prescriber's assessment; it is not a prescription decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Final, Literal

from ketacare.domain.intake.dsm5 import Dsm5Result
from ketacare.domain.intake.model import BloodPressure, Intake
from ketacare.domain.intake.trd import TrdResult
from ketacare.domain.rules import (
    SRC_DSM5,
    SRC_ESK_AGE,
    SRC_ESK_BP,
    SRC_ESK_HEPATIC,
    SRC_ESK_INTERACTIONS,
    SRC_ESK_LABEL,
    SRC_ESK_PSYCHOSIS,
    SRC_ESK_SUD,
    SRC_IV_BENZO,
    SRC_IV_PRACTICE,
    SRC_KETACARE_POLICY,
    SRC_TRD,
    Reason,
)

Treatment = Literal["iv_ketamine", "esketamine"]
EligibilityStatus = Literal["eligible", "not_eligible", "needs_review", "incomplete"]
_PREFIX: Final[dict[Treatment, str]] = {"iv_ketamine": "IVK", "esketamine": "ESK"}
_NAME: Final[dict[Treatment, str]] = {"iv_ketamine": "IV ketamine", "esketamine": "esketamine"}


@dataclass(frozen=True, slots=True)
class EligibilityConfig:
    """Thresholds and policies for the eligibility rules.

    Attributes
    ----------
    bp_systolic_above_mmhg, bp_diastolic_above_mmhg : int
        Latest BP above either flags review. Default 140/90: the esketamine label's
        "general guide" (clinical.md §5.2).
    bp_max_age_days : int or None
        [U] The intake BP may be at most this many days older than ``assessed_on``; an older
        (or undated) reading makes the BP criterion unknown, naming its date. Default 30, a
        ketacare choice (clinic setting ``KETACARE_INTAKE_BP_MAX_AGE_DAYS``); the label only
        says to measure BP before every dose (clinical.md §5.2), which the session checks
        apply. ``None`` accepts a reading of any age.
    benzodiazepine_above_mg : float
        [U] Daily lorazepam-equivalent dose above which review is needed; default 3 mg (one
        trial's exclusion, clinical.md §5.1).
    recent_substance_use : frozenset of str
        [U] Recencies counted as active or recent use; default current or within 12 months
        (practice: abstinent >= 1 year).
    min_age_years : int
        Both products are studied and labelled in adults; default 18.
    apply_esketamine_contraindications_to_iv : bool
        ketacare policy: treat the esketamine vascular contraindications as contraindications
        for IV racemic ketamine too (same pressor effect). When false they are cautions.
    iv_requires_trd : bool
        ketacare policy: IV ketamine is offered for TRD only (else a caution).
    acute_si_levels : frozenset of str
        C-SSRS levels that open the esketamine MDD-with-acute-suicidality indication.
    """

    bp_systolic_above_mmhg: int = 140
    bp_diastolic_above_mmhg: int = 90
    bp_max_age_days: int | None = 30
    benzodiazepine_above_mg: float = 3.0
    recent_substance_use: frozenset[str] = frozenset({"current", "within_12_months"})
    min_age_years: int = 18
    apply_esketamine_contraindications_to_iv: bool = True
    iv_requires_trd: bool = True
    acute_si_levels: frozenset[str] = frozenset({"moderate", "high"})


@dataclass(frozen=True, slots=True)
class EligibilityResult:
    """Eligibility for one treatment.

    ``missing_fields`` names the intake fields (dotted paths) still needed.
    """

    treatment: Treatment
    status: EligibilityStatus
    contraindications: tuple[Reason, ...]
    cautions: tuple[Reason, ...]
    missing: tuple[Reason, ...]
    notes: tuple[Reason, ...]
    missing_fields: tuple[str, ...]

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Every reason: contraindications, cautions, missing facts, then notes."""
        return self.contraindications + self.cautions + self.missing + self.notes


class _Collector:
    __slots__ = ("caution", "ci", "fields", "missing", "notes", "p")

    def __init__(self, prefix: str) -> None:
        self.p = prefix
        self.ci: list[Reason] = []
        self.caution: list[Reason] = []
        self.missing: list[Reason] = []
        self.fields: list[str] = []
        self.notes: list[Reason] = []

    def need(self, rule: str, field: str, what: str, source: str) -> None:
        self.fields.append(field)
        self.missing.append(Reason(f"{self.p}-{rule}", f"Unknown: {field} ({what}).", source))

    def flag(self, rule: str, text: str, source: str, *, contraindication: bool = False) -> None:
        (self.ci if contraindication else self.caution).append(
            Reason(f"{self.p}-{rule}", text, source)
        )


#: Source of the BP age rule (a ketacare default; the label's rule is "before every dose").
SRC_BP_AGE: Final = (
    "[U] maximum age of the intake BP: ketacare default, clinic setting "
    "KETACARE_INTAKE_BP_MAX_AGE_DAYS (docs/intake.md); SPRAVATO US PI §2.1: measure BP before "
    "every dose (clinical.md §5.2)"
)


def bp_staleness(
    bp: BloodPressure, assessed_on: date | None, max_age_days: int | None
) -> tuple[str, str] | None:
    """``(field, what)`` when the BP is too old or its age is unknown, else ``None``.

    Examples
    --------
    >>> bp = BloodPressure(120, 80, date(2019, 5, 2))
    >>> field, what = bp_staleness(bp, date(2025, 3, 1), 30)
    >>> field, what[:52]
    ('blood_pressure.measured_on', 'the latest BP 120/80 mmHg was measured on 2019-05-02')
    >>> bp_staleness(bp, date(2019, 5, 20), 30) is None
    True
    """
    if max_age_days is None:
        return None
    reading = f"{bp.systolic_mmhg}/{bp.diastolic_mmhg} mmHg"
    if bp.measured_on is None:
        return (
            "blood_pressure.measured_on",
            f"date of the latest BP {reading}; a reading must be at most {max_age_days} days "
            "old [U]",
        )
    if assessed_on is None:
        return ("assessed_on", f"assessment date, to judge the age of the BP of {bp.measured_on}")
    age = (assessed_on - bp.measured_on).days
    if age <= max_age_days:
        return None
    return (
        "blood_pressure.measured_on",
        f"the latest BP {reading} was measured on {bp.measured_on.isoformat()}, {age} days "
        f"before the assessment on {assessed_on.isoformat()}; older than {max_age_days} days "
        "[U]: measure it again",
    )


def _vascular_and_hypersensitivity(
    c: _Collector, intake: Intake, treatment: Treatment, cfg: EligibilityConfig
) -> None:
    m = intake.medical
    iv = treatment == "iv_ketamine"
    hard = not iv or cfg.apply_esketamine_contraindications_to_iv
    src = (
        SRC_ESK_LABEL
        if not iv
        else f"{SRC_ESK_LABEL}, applied to IV ketamine by {SRC_KETACARE_POLICY}"
    )
    word = "Contraindication" if hard else "Caution"
    for rule, attr, label in (
        ("CI-ANEURYSM", "aneurysmal_vascular_disease", "aneurysmal vascular disease"),
        ("CI-AVM", "arteriovenous_malformation", "arteriovenous malformation"),
        ("CI-ICH", "intracerebral_haemorrhage", "history of intracerebral haemorrhage"),
    ):
        v = getattr(m, attr)
        if v is None:
            c.need(rule, f"medical.{attr}", label, src)
        elif v:
            c.flag(
                rule,
                f"{word}: {label} (blood pressure rises after dosing).",
                src,
                contraindication=hard,
            )
    if m.ketamine_hypersensitivity is None:
        c.need(
            "CI-HYPERSENS", "medical.ketamine_hypersensitivity", "hypersensitivity", SRC_ESK_LABEL
        )
    elif m.ketamine_hypersensitivity:
        c.flag(
            "CI-HYPERSENS",
            "Contraindication: known hypersensitivity to ketamine, esketamine or an excipient.",
            SRC_ESK_LABEL,
            contraindication=True,
        )


def _cautions(c: _Collector, intake: Intake, treatment: Treatment, cfg: EligibilityConfig) -> None:
    m, iv = intake.medical, treatment == "iv_ketamine"
    prac = SRC_IV_PRACTICE if iv else SRC_ESK_LABEL
    if m.hypertension is None:
        c.need("HTN", "medical.hypertension", "hypertension", SRC_ESK_BP)
    elif m.hypertension:
        if m.hypertension_controlled is None:
            c.need(
                "HTN", "medical.hypertension_controlled", "is hypertension controlled", SRC_ESK_BP
            )
        elif not m.hypertension_controlled:
            c.flag("HTN", "Uncontrolled hypertension: treat and re-check BP first.", SRC_ESK_BP)
    bp = intake.blood_pressure
    stale = None if bp is None else bp_staleness(bp, intake.assessed_on, cfg.bp_max_age_days)
    if bp is None:
        c.need("BP", "blood_pressure", "latest blood pressure", SRC_ESK_BP)
    elif stale is not None:
        field, what = stale
        c.need("BP", field, what, f"{SRC_ESK_BP}; {SRC_BP_AGE}")
    elif (
        bp.systolic_mmhg > cfg.bp_systolic_above_mmhg
        or bp.diastolic_mmhg > cfg.bp_diastolic_above_mmhg
    ):
        c.flag(
            "BP",
            f"Latest BP {bp.systolic_mmhg}/{bp.diastolic_mmhg} mmHg is above "
            f"{cfg.bp_systolic_above_mmhg}/{cfg.bp_diastolic_above_mmhg}: weigh the short-term "
            "BP rise against benefit.",
            SRC_ESK_BP,
        )
    simple = (
        (
            "CARDIAC",
            "cardiac_disease",
            "cardiac disease",
            "Cardiac disease: BP and heart-rate rises "
            "after dosing need cardiology-informed review.",
            prac,
        ),
        (
            "PSYCHOSIS",
            "psychotic_disorder",
            "psychotic disorder",
            "Psychotic disorder (current or past): start only if benefit outweighs risk.",
            SRC_ESK_PSYCHOSIS,
        ),
        (
            "MANIA",
            "mania_or_hypomania",
            "mania or hypomania",
            "History of mania or hypomania: consider a bipolar-spectrum diagnosis before treating.",
            SRC_IV_PRACTICE,
        ),
        ("MAOI", "maoi", "MAOI use", "Takes an MAOI: monitor BP closely.", SRC_ESK_INTERACTIONS),
        (
            "STIMULANT",
            "psychostimulant",
            "psychostimulant use",
            "Takes a psychostimulant: monitor BP closely.",
            SRC_ESK_INTERACTIONS,
        ),
    )
    for rule, attr, what, text, src in simple:
        v = getattr(m, attr)
        if v is None:
            c.need(rule, f"medical.{attr}", what, src)
        elif v:
            c.flag(rule, text, src)
    if m.substance_use_disorder is None:
        c.need("SUD", "medical.substance_use_disorder", "substance use disorder", SRC_ESK_SUD)
    elif m.substance_use_disorder:
        rec = m.substance_use_recency
        subs = ", ".join(m.substances) or "substance not recorded"
        when = "recency unknown" if rec is None else rec.replace("_", " ")
        active = rec is None or rec in cfg.recent_substance_use
        c.flag(
            "SUD",
            f"Substance use disorder ({subs}; {when}): "
            + ("active or recent use [U: recency window configurable]; " if active else "")
            + "assess abuse and misuse risk.",
            f"{SRC_ESK_SUD}; {SRC_IV_PRACTICE}",
        )
    if intake.demographics.sex != "male":
        if m.pregnant_or_lactating is None:
            c.need("PREGNANCY", "medical.pregnant_or_lactating", "pregnancy or lactation", prac)
        elif m.pregnant_or_lactating:
            c.flag(
                "PREGNANCY", "Pregnant or breastfeeding: specialist review needed.", SRC_IV_PRACTICE
            )
    if m.hepatic_impairment is None:
        c.need("HEPATIC", "medical.hepatic_impairment", "hepatic impairment", SRC_ESK_HEPATIC)
    elif m.hepatic_impairment:
        cp = m.child_pugh
        detail = {
            None: "Child-Pugh class not recorded",
            "A": "Child-Pugh A",
            "B": "Child-Pugh B: longer exposure, monitor longer for adverse reactions",
            "C": "Child-Pugh C: not studied; esketamine use is not recommended",
        }[cp]
        c.flag("HEPATIC", f"Hepatic impairment ({detail}).", SRC_ESK_HEPATIC)
    bz = m.benzodiazepine_lorazepam_eq_mg
    if bz is None:
        c.need(
            "BENZO", "medical.benzodiazepine_lorazepam_eq_mg", "benzodiazepine dose", SRC_IV_BENZO
        )
    elif bz > cfg.benzodiazepine_above_mg:
        c.flag(
            "BENZO",
            f"Benzodiazepine {bz:g} mg/day lorazepam equivalents is above "
            f"{cfg.benzodiazepine_above_mg:g} mg [U]: may blunt response and add sedation.",
            SRC_IV_BENZO,
        )


def check_eligibility(
    treatment: Treatment,
    intake: Intake,
    dsm5: Dsm5Result,
    trd: TrdResult,
    config: EligibilityConfig = EligibilityConfig(),
) -> EligibilityResult:
    """Check eligibility of ``intake`` for ``treatment`` (``"iv_ketamine"`` or ``"esketamine"``).

    Parameters
    ----------
    treatment : {"iv_ketamine", "esketamine"}
    intake : Intake
    dsm5 : Dsm5Result
        From :func:`ketacare.domain.intake.dsm5.assess_major_depressive_episode`.
    trd : TrdResult
        From :func:`ketacare.domain.intake.trd.assess_trd`.
    config : EligibilityConfig

    Returns
    -------
    EligibilityResult

    References
    ----------
    SPRAVATO US prescribing information (contraindications, §5.6, §8.6); IV ketamine practice
    exclusions (PMC10812090 Table 1; PMC8434915).
    """
    p, name = _PREFIX[treatment], _NAME[treatment]
    c = _Collector(p)
    # Indication: diagnosis, age and treatment resistance.
    if dsm5.conclusion == "does_not_meet":
        c.flag(
            "DX",
            f"No major depressive episode on current criteria: {name} is not indicated.",
            SRC_DSM5,
            contraindication=True,
        )
    elif dsm5.conclusion == "cannot_determine":
        for code in dsm5.missing:
            c.need("DX", f"dsm5.{code}", f"DSM-5 criterion {code}", SRC_DSM5)
    age = intake.demographics.age_years
    if age is None:
        c.need("AGE", "demographics.age_years", "age", SRC_ESK_AGE)
    elif age < config.min_age_years:
        c.flag(
            "AGE",
            f"Age {age}: {name} is studied and labelled in adults only.",
            SRC_ESK_AGE,
            contraindication=True,
        )
    elif age >= 65 and treatment == "esketamine":
        c.notes.append(
            Reason(
                "ESK-AGE65",
                "Age >= 65: EU/other labels start at 28 mg (protocol "
                "variant age-65-plus); the US label has one 56 mg start.",
                SRC_ESK_AGE,
            )
        )
    acute_si = intake.screening.cssrs_risk in config.acute_si_levels
    if trd.trd is None:
        for f in trd.missing:
            c.need("TRD", f, "facts to judge trial adequacy", SRC_TRD)
    elif not trd.trd:
        if treatment == "esketamine" and acute_si:
            c.notes.append(
                Reason(
                    "ESK-MDSI",
                    "Not TRD, but C-SSRS shows suicidal ideation: the "
                    "MDD-with-acute-suicidality indication (84 mg twice weekly with "
                    "an oral antidepressant) may apply.",
                    SRC_ESK_LABEL,
                )
            )
        elif treatment == "esketamine" or config.iv_requires_trd:
            c.flag(
                "TRD",
                f"Not treatment-resistant (adequate failed trials of fewer than 2 different "
                f"antidepressants): {name} "
                "is reserved for TRD.",
                SRC_TRD if treatment == "esketamine" else f"{SRC_TRD}; {SRC_KETACARE_POLICY}",
                contraindication=True,
            )
        else:
            c.flag(
                "TRD", "Not treatment-resistant: off-label use outside TRD.", SRC_KETACARE_POLICY
            )
    _vascular_and_hypersensitivity(c, intake, treatment, config)
    _cautions(c, intake, treatment, config)
    status: EligibilityStatus = (
        "not_eligible"
        if c.ci
        else "incomplete"
        if c.missing
        else "needs_review"
        if c.caution
        else "eligible"
    )
    return EligibilityResult(
        treatment,
        status,
        tuple(c.ci),
        tuple(c.caution),
        tuple(c.missing),
        tuple(c.notes),
        tuple(c.fields),
    )
