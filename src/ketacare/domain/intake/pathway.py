"""Care-pathway recommendation: a suggestion with reasons, for the clinician to weigh.

Order of recommendations (the first is ``primary``):

1. ``urgent_evaluation`` when PHQ-9 item 9 >= 1 or the C-SSRS level is moderate or high
   (hospitalisation to be considered at C-SSRS high) — clinical.md §2.1, §2.7.
2. By PHQ-9 severity (clinical.md §2.1 bands):

   * none/minimal -> ``monitor``;
   * mild -> ``self_care_and_rescreen`` (sleep, activity, alcohol and caffeine, daylight,
     social contact; re-screen after ``rescreen_days`` [U]);
   * moderate or worse and TRD -> ``ketamine_evaluation`` if either treatment is eligible or
     needs review, ``complete_eligibility`` if facts are missing, else ``trd_alternatives``;
   * moderate or worse, not TRD (or TRD undetermined) -> ``psychotherapy_or_antidepressant``.

3. Context notes weighing age, sex, physical health, severity and family history.

Sources tagged [U] below are not in the verified reference (clinical.md) and are shown as such.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from ketacare.domain.intake.dsm5 import Dsm5Result
from ketacare.domain.intake.eligibility import EligibilityResult
from ketacare.domain.intake.model import Intake
from ketacare.domain.intake.trd import TrdResult
from ketacare.domain.mbc.screening import Phq9Result
from ketacare.domain.rules import (
    SRC_CSSRS,
    SRC_KETACARE_POLICY,
    SRC_PHQ9_BANDS,
    SRC_PHQ9_ITEM9,
    Reason,
)

PathwayCode = Literal[
    "urgent_evaluation",
    "monitor",
    "self_care_and_rescreen",
    "psychotherapy_or_antidepressant",
    "ketamine_evaluation",
    "complete_eligibility",
    "trd_alternatives",
    "complete_assessment",
    "context",
]
SRC_NICE: Final = "[U] NICE NG222 (2022), Depression in adults (not in the verified reference)"
SELF_CARE: Final[tuple[Reason, ...]] = (
    Reason(
        "PATH-SELFCARE-SLEEP",
        "Sleep: keep regular bed and wake times; limit daytime naps and screens before bed.",
        f"{SRC_NICE}; NICE CG90 (2009) sleep hygiene [U]",
    ),
    Reason(
        "PATH-SELFCARE-ACTIVITY",
        "Activity: regular physical activity, e.g. three sessions a week, ideally in a group.",
        f"{SRC_NICE}; Cooney et al. 2013, Cochrane CD004366 [U]",
    ),
    Reason(
        "PATH-SELFCARE-ALCOHOL",
        "Alcohol and caffeine: cut down alcohol; avoid caffeine "
        "late in the day because it disturbs sleep.",
        f"{SRC_NICE} [U]",
    ),
    Reason(
        "PATH-SELFCARE-DAYLIGHT",
        "Daylight: spend time outdoors in daylight each morning.",
        "[U] Golden et al. 2005, Am J Psychiatry 162:656 (light therapy meta-analysis)",
    ),
    Reason(
        "PATH-SELFCARE-SOCIAL",
        "Social contact: plan regular contact with friends, family or groups.",
        "[U] Cruwys et al. 2013, Soc Sci Med 98:179",
    ),
)


@dataclass(frozen=True, slots=True)
class PathwayConfig:
    """Thresholds for the pathway.

    Attributes
    ----------
    item9_urgent_at : int
        PHQ-9 item 9 score that triggers same-day risk evaluation; default 1 (clinical.md §2.1).
    urgent_cssrs_levels, hospitalisation_cssrs_levels : frozenset of str
        C-SSRS levels for urgent evaluation (default moderate, high) and for considering
        hospitalisation (default high; Columbia imminent-risk rule, clinical.md §2.7).
    rescreen_days : int
        [U] Days until re-screening for mild symptoms; default 14.
    """

    item9_urgent_at: int = 1
    urgent_cssrs_levels: frozenset[str] = frozenset({"moderate", "high"})
    hospitalisation_cssrs_levels: frozenset[str] = frozenset({"high"})
    rescreen_days: int = 14


@dataclass(frozen=True, slots=True)
class Recommendation:
    """One suggested step (``code``) with its reasons."""

    code: PathwayCode
    text: str
    reasons: tuple[Reason, ...]


@dataclass(frozen=True, slots=True)
class PathwayResult:
    """``primary`` is the first recommendation's code; ``recommendations`` lists all."""

    primary: PathwayCode
    recommendations: tuple[Recommendation, ...]

    @property
    def reasons(self) -> tuple[Reason, ...]:
        """Every reason of every recommendation, in order."""
        return tuple(r for rec in self.recommendations for r in rec.reasons)


def _risk(intake: Intake, cfg: PathwayConfig) -> Recommendation | None:
    items = intake.screening.phq9
    item9 = items[8] if items is not None else None
    level = intake.screening.cssrs_risk
    reasons: list[Reason] = []
    if item9 is not None and item9 >= cfg.item9_urgent_at:
        reasons.append(
            Reason(
                "PATH-URGENT-ITEM9",
                f"PHQ-9 item 9 = {item9}: thoughts of death or "
                "self-harm need a same-day suicide-risk assessment (C-SSRS and "
                "clinician review).",
                SRC_PHQ9_ITEM9,
            )
        )
    if level in cfg.urgent_cssrs_levels:
        reasons.append(
            Reason(
                "PATH-URGENT-CSSRS",
                f"C-SSRS risk level {level}: same-day evaluation by a mental health professional.",
                SRC_CSSRS,
            )
        )
    if not reasons:
        return None
    text = "Urgent: same-day suicide-risk evaluation before any other step."
    if level in cfg.hospitalisation_cssrs_levels:
        reasons.append(
            Reason(
                "PATH-HOSPITALISATION",
                "High C-SSRS risk: keep the person safe and "
                "consider hospitalisation until evaluated.",
                SRC_CSSRS,
            )
        )
        text += " Consider hospitalisation; keep safety precautions until evaluated."
    return Recommendation("urgent_evaluation", text, tuple(reasons))


def _context(intake: Intake, phq9: Phq9Result | None) -> list[Reason]:
    notes: list[Reason] = []
    d, m = intake.demographics, intake.medical
    if d.age_years is not None and d.age_years < 18:
        notes.append(
            Reason(
                "PATH-AGE-YOUNG",
                f"Age {d.age_years}: involve child and adolescent "
                "services; ketamine and esketamine are adult treatments.",
                SRC_KETACARE_POLICY,
            )
        )
    elif d.age_years is not None and d.age_years >= 65:
        notes.append(
            Reason(
                "PATH-AGE-OLDER",
                f"Age {d.age_years}: review interactions, falls "
                "and BP; esketamine exposure is higher in older adults (28 mg start "
                "in EU labels).",
                "SPRAVATO US PI §8.5; EU SmPC (clinical.md §5.2)",
            )
        )
    if d.sex != "male" and m.pregnant_or_lactating is not False:
        state = (
            "pregnant or breastfeeding" if m.pregnant_or_lactating else "pregnancy status unknown"
        )
        notes.append(
            Reason(
                "PATH-SEX",
                f"{state.capitalize()}: confirm before choosing medication.",
                SRC_KETACARE_POLICY,
            )
        )
    physical = [
        label
        for label, v in (
            ("uncontrolled hypertension", m.hypertension and m.hypertension_controlled is False),
            ("cardiac disease", m.cardiac_disease),
            ("hepatic impairment", m.hepatic_impairment),
        )
        if v
    ]
    if physical:
        notes.append(
            Reason(
                "PATH-PHYSICAL",
                f"Physical health ({', '.join(physical)}): weigh in "
                "the choice and dose of any medication.",
                SRC_KETACARE_POLICY,
            )
        )
    if intake.family_history_mental_illness:
        notes.append(
            Reason(
                "PATH-FAMILY",
                "Family history of mental illness: ask about bipolar "
                "disorder in relatives before starting an antidepressant.",
                f"{SRC_KETACARE_POLICY} [U]",
            )
        )
    if phq9 is not None:
        notes.append(
            Reason(
                "PATH-SEVERITY",
                f"PHQ-9 total {phq9.total} ({phq9.band.replace('_', ' ')}).",
                SRC_PHQ9_BANDS,
            )
        )
    return notes


def _treatment(trd: TrdResult, ivk: EligibilityResult, esk: EligibilityResult) -> Recommendation:
    severe = "moderate or worse depressive symptoms"
    if trd.trd:
        open_ = [e for e in (esk, ivk) if e.status in ("eligible", "needs_review")]
        if open_:
            names = " and ".join(
                f"{e.treatment.replace('_', ' ')} ({e.status.replace('_', ' ')})" for e in open_
            )
            return Recommendation(
                "ketamine_evaluation",
                f"Treatment-resistant depression: consider evaluation for {names}.",
                (*trd.reasons, *(r for e in open_ for r in e.cautions)),
            )
        if any(e.status == "incomplete" for e in (esk, ivk)):
            fields = sorted({f for e in (esk, ivk) for f in e.missing_fields})
            return Recommendation(
                "complete_eligibility",
                "Treatment-resistant depression: "
                f"complete the facts needed for ketamine eligibility ({', '.join(fields)}).",
                (*trd.reasons, *esk.missing, *ivk.missing),
            )
        return Recommendation(
            "trd_alternatives",
            "Treatment-resistant depression, but neither "
            "ketamine nor esketamine is suitable: review augmentation, ECT or "
            "specialist referral.",
            (*trd.reasons, *esk.contraindications, *ivk.contraindications),
        )
    extra: tuple[Reason, ...] = ()
    if trd.trd is None:
        extra = (
            Reason(
                "PATH-TRD-UNKNOWN",
                "Complete the antidepressant trial history to judge "
                f"treatment resistance ({', '.join(trd.missing)}).",
                SRC_KETACARE_POLICY,
            ),
        )
    return Recommendation(
        "psychotherapy_or_antidepressant",
        f"Not treatment-resistant with {severe}: consider psychotherapy and/or an antidepressant.",
        (
            Reason(
                "PATH-TREAT",
                "Moderate depression: psychotherapy or an "
                "antidepressant; moderately severe or severe: both combined.",
                SRC_NICE,
            ),
            *extra,
        ),
    )


def recommend_pathway(
    intake: Intake,
    phq9: Phq9Result | None,
    dsm5: Dsm5Result,
    trd: TrdResult,
    iv_ketamine: EligibilityResult,
    esketamine: EligibilityResult,
    config: PathwayConfig = PathwayConfig(),
) -> PathwayResult:
    """Suggest a care pathway for the clinician, with reasons.

    ``phq9`` is ``None`` when the PHQ-9 is missing or incomplete (no severity band).
    """
    recs: list[Recommendation] = []
    risk = _risk(intake, config)
    if risk is not None:
        recs.append(risk)
    if phq9 is None:
        recs.append(
            Recommendation(
                "complete_assessment",
                "Complete the PHQ-9 to grade severity.",
                (Reason("PATH-INCOMPLETE", "PHQ-9 missing or incomplete.", SRC_PHQ9_BANDS),),
            )
        )
    elif phq9.band == "none":
        recs.append(
            Recommendation(
                "monitor",
                "Few or no depressive symptoms: no treatment "
                "suggested by the screen; re-screen if concerns arise.",
                (Reason("PATH-MONITOR", "PHQ-9 0-4.", SRC_PHQ9_BANDS),),
            )
        )
    elif phq9.band == "mild":
        recs.append(
            Recommendation(
                "self_care_and_rescreen",
                "Mild symptoms: self-care guidance "
                f"and re-screen in {config.rescreen_days} days [U].",
                (
                    *SELF_CARE,
                    Reason(
                        "PATH-RESCREEN",
                        f"PHQ-9 5-9: re-screen after {config.rescreen_days} days [U].",
                        SRC_NICE,
                    ),
                ),
            )
        )
    else:
        recs.append(_treatment(trd, iv_ketamine, esketamine))
    if dsm5.conclusion != "meets":
        recs.append(
            Recommendation(
                "context",
                "DSM-5 episode criteria: " + dsm5.conclusion.replace("_", " ") + ".",
                (dsm5.reason,),
            )
        )
    notes = _context(intake, phq9)
    if notes:
        recs.append(Recommendation("context", "Also weigh:", tuple(notes)))
    return PathwayResult(recs[0].code, tuple(recs))
