"""One call for the intake rules: DSM-5, TRD staging, eligibility and pathway.

The function composes the pure rules in a fixed order and is what the CLI, the API and the
benchmark call. ``verdict_to_dict`` gives the JSON form printed by
``ketacare eligibility --json``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ketacare.domain.intake.dsm5 import Dsm5Result, assess_major_depressive_episode
from ketacare.domain.intake.eligibility import (
    EligibilityConfig,
    EligibilityResult,
    check_eligibility,
)
from ketacare.domain.intake.model import Intake
from ketacare.domain.intake.pathway import PathwayConfig, PathwayResult, recommend_pathway
from ketacare.domain.intake.trd import (
    MsmResult,
    ThaseRushResult,
    TrdConfig,
    TrdResult,
    assess_trd,
    maudsley_stage,
    thase_rush_stage,
)
from ketacare.domain.mbc.screening import Phq9Result, score_phq9
from ketacare.domain.rules import Reason


@dataclass(frozen=True, slots=True)
class IntakeRulesConfig:
    """All intake-rule configuration in one object (each part has documented defaults)."""

    trd: TrdConfig = field(default_factory=TrdConfig)
    eligibility: EligibilityConfig = field(default_factory=EligibilityConfig)
    pathway: PathwayConfig = field(default_factory=PathwayConfig)


@dataclass(frozen=True, slots=True)
class IntakeVerdict:
    """Every intake-rule result for one intake."""

    phq9: Phq9Result | None
    dsm5: Dsm5Result
    trd: TrdResult
    msm: MsmResult
    thase_rush: ThaseRushResult
    iv_ketamine: EligibilityResult
    esketamine: EligibilityResult
    pathway: PathwayResult


_DEFAULT = IntakeRulesConfig()


def assess_intake(intake: Intake, config: IntakeRulesConfig = _DEFAULT) -> IntakeVerdict:
    """Run DSM-5, TRD, MSM, Thase-Rush, both eligibility checks and the pathway.

    Examples
    --------
    >>> a = assess_intake(Intake())
    >>> (a.dsm5.conclusion, a.trd.trd, a.esketamine.status, a.pathway.primary)
    ('cannot_determine', None, 'incomplete', 'complete_assessment')
    """
    items = intake.screening.phq9
    phq9 = None
    if items is not None and None not in items:
        phq9 = score_phq9(list(items), intake.screening.phq9_difficulty)
    dsm5 = assess_major_depressive_episode(items, intake.dsm5)
    trd = assess_trd(intake, config.trd)
    msm = maudsley_stage(intake, trd, None if phq9 is None else phq9.band, config.trd)
    tr = thase_rush_stage(intake, trd, config.trd)
    ivk = check_eligibility("iv_ketamine", intake, dsm5, trd, config.eligibility)
    esk = check_eligibility("esketamine", intake, dsm5, trd, config.eligibility)
    path = recommend_pathway(intake, phq9, dsm5, trd, ivk, esk, config.pathway)
    return IntakeVerdict(phq9, dsm5, trd, msm, tr, ivk, esk, path)


def _reasons(rs: tuple[Reason, ...]) -> list[dict[str, str]]:
    return [r.as_dict() for r in rs]


def _elig(e: EligibilityResult) -> dict[str, object]:
    return {
        "status": e.status,
        "missing_fields": list(e.missing_fields),
        "contraindications": _reasons(e.contraindications),
        "cautions": _reasons(e.cautions),
        "missing": _reasons(e.missing),
        "notes": _reasons(e.notes),
    }


def verdict_to_dict(a: IntakeVerdict) -> dict[str, object]:
    """Return the JSON-ready form of an :class:`IntakeVerdict`."""
    return {
        "phq9": None
        if a.phq9 is None
        else {"total": a.phq9.total, "band": a.phq9.band, "item9_positive": a.phq9.item9_positive},
        "dsm5": {
            "conclusion": a.dsm5.conclusion,
            "missing": list(a.dsm5.missing),
            "symptoms_present": a.dsm5.symptoms_present,
            "criteria": [
                {"code": c.code, "status": c.status, **c.reason.as_dict()} for c in a.dsm5.criteria
            ],
            "reason": a.dsm5.reason.as_dict(),
        },
        "trd": {
            "trd": a.trd.trd,
            "adequate_failures": a.trd.adequate_failures,
            "missing": list(a.trd.missing),
            "reasons": _reasons(a.trd.reasons),
            "maudsley": {
                "total": a.msm.total,
                "band": a.msm.band,
                "scores": {
                    "duration": a.msm.duration,
                    "severity": a.msm.severity,
                    "antidepressants": a.msm.antidepressants,
                    "augmentation": a.msm.augmentation,
                    "ect": a.msm.ect,
                },
                "missing": list(a.msm.missing),
                "reason": a.msm.reason.as_dict(),
            },
            "thase_rush": {
                "stage": a.thase_rush.label,
                "uncertain": a.thase_rush.uncertain,
                "reason": a.thase_rush.reason.as_dict(),
            },
        },
        "eligibility": {"iv_ketamine": _elig(a.iv_ketamine), "esketamine": _elig(a.esketamine)},
        "pathway": {
            "primary": a.pathway.primary,
            "recommendations": [
                {"code": r.code, "text": r.text, "reasons": _reasons(r.reasons)}
                for r in a.pathway.recommendations
            ],
        },
    }
