"""Vectorised intake rules for many intakes at once (status codes only, no reason texts).

Same rules and configuration as :func:`ketacare.domain.intake.verdict.assess_intake`, computed
with numpy over a columnar table (one array per fact; ``-1`` = unknown). Used for cohort
analytics and the benchmark; tests check that every code agrees with the per-intake path.
Reasons are not produced here: call ``assess_intake`` for the intake a clinician opens.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ketacare.domain.intake.eligibility import bp_staleness
from ketacare.domain.intake.model import Intake, completed_months
from ketacare.domain.intake.trd import (
    DEFAULT_SEVERITY_FROM_PHQ9,
    MSM_SEVERITY_SCORE,
    classify_trials,
    thase_rush_class_stage,
)
from ketacare.domain.intake.verdict import IntakeRulesConfig

I8 = npt.NDArray[np.int8]
Table = dict[str, npt.NDArray[Any]]

CONCLUSIONS: Final = ("meets", "does_not_meet", "cannot_determine")
STATUSES: Final = ("eligible", "not_eligible", "needs_review", "incomplete")
PRIMARY: Final = (
    "urgent_evaluation",
    "complete_assessment",
    "monitor",
    "self_care_and_rescreen",
    "ketamine_evaluation",
    "complete_eligibility",
    "trd_alternatives",
    "psychotherapy_or_antidepressant",
)
FLAGS: Final = (
    "hypertension",
    "hypertension_controlled",
    "aneurysmal_vascular_disease",
    "arteriovenous_malformation",
    "intracerebral_haemorrhage",
    "cardiac_disease",
    "hepatic_impairment",
    "pregnant_or_lactating",
    "psychotic_disorder",
    "mania_or_hypomania",
    "substance_use_disorder",
    "maoi",
    "psychostimulant",
    "ketamine_hypersensitivity",
)
_CSSRS: Final[dict[str | None, int]] = {None: -1, "none": 0, "low": 1, "moderate": 2, "high": 3}
_SEX: Final[dict[str | None, int]] = {None: -1, "female": 0, "male": 1, "other": 2}
_SEV: Final[dict[str | None, int]] = {
    None: -1,
    **{str(k): v for k, v in MSM_SEVERITY_SCORE.items()},
}


def _b(v: bool | None) -> int:
    return -1 if v is None else int(v)


def table_from_intakes(
    intakes: Sequence[Intake], config: IntakeRulesConfig = IntakeRulesConfig()
) -> Table:
    """Build the columnar table from intake objects (per-intake Python; O(n))."""
    n = len(intakes)
    t: dict[str, list[object]] = {
        k: []
        for k in (
            "phq9",
            "attest",
            "age",
            "sex",
            "cssrs",
            "months",
            "clin_sev",
            "trials",
            "n_fail",
            "n_unk",
            "tr_base",
            "none_cls",
            "ect_bilat",
            "aug",
            "ect",
            "bp_sys",
            "bp_dia",
            "benzo",
            *FLAGS,
        )
    }
    for i in intakes:
        p = i.screening.phq9
        t["phq9"].append([-1] * 9 if p is None else [-1 if x is None else x for x in p])
        a = i.dsm5
        t["attest"].append(
            [
                _b(a.b_distress_or_impairment),
                _b(a.c_not_substance_or_medical),
                _b(a.d_not_psychotic_disorder),
                _b(a.e_no_mania_or_hypomania),
            ]
        )
        t["age"].append(-1 if i.demographics.age_years is None else i.demographics.age_years)
        t["sex"].append(_SEX[i.demographics.sex])
        t["cssrs"].append(_CSSRS[i.screening.cssrs_risk])
        s, e = i.episode.current_episode_start, i.assessed_on
        t["months"].append(-1 if s is None or e is None else completed_months(s, e))
        t["clin_sev"].append(_SEV[i.clinician_severity])
        trials = i.treatment.antidepressant_trials
        # Different drugs (normalised names), as assess_trd counts them (clinical.md §4.1).
        by_drug, unknown, _ = classify_trials(trials or (), config.trd)
        failed = list(by_drug.values())
        classes = [x.drug_class for x in failed if x.drug_class is not None]
        t["trials"].append(int(trials is not None))
        t["n_fail"].append(len(failed))
        t["n_unk"].append(sum(1 for k in unknown if k not in by_drug))
        t["tr_base"].append(thase_rush_class_stage(classes, config.trd.thase_rush_reading))
        t["none_cls"].append(int(any(x.drug_class is None for x in failed)))
        t["ect_bilat"].append(_b(i.treatment.ect_bilateral_failed))
        t["aug"].append(_b(i.treatment.augmentation))
        t["ect"].append(_b(i.treatment.ect))
        bp = i.blood_pressure
        if bp is not None and bp_staleness(bp, i.assessed_on, config.eligibility.bp_max_age_days):
            bp = None  # too old or undated: the BP criterion is unknown, as in eligibility
        t["bp_sys"].append(-1 if bp is None else bp.systolic_mmhg)
        t["bp_dia"].append(-1 if bp is None else bp.diastolic_mmhg)
        bz = i.medical.benzodiazepine_lorazepam_eq_mg
        t["benzo"].append(np.nan if bz is None else bz)
        for f in FLAGS:
            t[f].append(_b(getattr(i.medical, f)))
    out: Table = {
        k: np.asarray(v, dtype=np.float64 if k == "benzo" else np.int16) for k, v in t.items()
    }
    assert all(len(v) == n for v in out.values())
    return out


def assess_table(
    t: Table, config: IntakeRulesConfig = IntakeRulesConfig()
) -> dict[str, npt.NDArray[np.int16]]:
    """Return integer codes per intake: ``dsm5`` (index into :data:`CONCLUSIONS`), ``trd``
    (1/0/-1), ``msm_total`` (-1 unknown), ``thase_rush`` (0-5, -1), ``iv_ketamine`` and
    ``esketamine`` (index into :data:`STATUSES`), ``pathway`` (index into :data:`PRIMARY`)."""
    cfg_t, cfg_e, cfg_p = config.trd, config.eligibility, config.pathway
    phq = t["phq9"]
    known = phq >= 0
    thr = np.array([2, 2, 2, 2, 2, 2, 2, 2, 1])
    present = known & (phq >= thr)
    met = present.sum(axis=1)
    unk = (~known).sum(axis=1)
    core_met = present[:, 0] | present[:, 1]
    core_possible = core_met | ~known[:, 0] | ~known[:, 1]
    a = np.where(core_met & (met >= 5), 1, np.where(~core_possible | (met + unk < 5), 0, -1))
    crit = np.column_stack([a, t["attest"]])
    dsm = np.where((crit == 0).any(axis=1), 1, np.where((crit == -1).any(axis=1), 2, 0))
    need = cfg_t.min_failed_trials
    nf, nu = t["n_fail"], t["n_unk"]
    trd = np.where(t["trials"] == 0, -1, np.where(nf >= need, 1, np.where(nf + nu < need, 0, -1)))
    # MSM
    m = t["months"]
    dur = np.where(m < 0, -1, np.where(m <= 12, 1, np.where(m <= 24, 2, 3)))
    total = phq.sum(axis=1)
    complete = known.all(axis=1)
    band_idx = np.searchsorted(np.array([5, 10, 15, 20]), total, side="right")
    sev_map = config.trd.severity_from_phq9 or DEFAULT_SEVERITY_FROM_PHQ9
    band_sev = np.array(
        [
            MSM_SEVERITY_SCORE[sev_map[b]]
            for b in ("none", "mild", "moderate", "moderately_severe", "severe")
        ]
    )
    sev = np.where(t["clin_sev"] >= 0, t["clin_sev"], np.where(complete, band_sev[band_idx], -1))
    ad = np.select([nf <= 2, nf <= 4, nf <= 6, nf <= 10], [1, 2, 3, 4], 5)
    ad = np.where(trd == -1, -1, ad)
    parts = np.column_stack([dur, sev, ad, t["aug"], t["ect"]])
    msm = np.where((parts < 0).any(axis=1), -1, parts.sum(axis=1))
    # Thase-Rush
    tr = t["tr_base"]  # stage 0-IV per the configured reading (trd.thase_rush_class_stage)
    tr = np.where((tr == 4) & (t["ect_bilat"] == 1), 5, tr)
    tr = np.where(t["trials"] == 0, -1, tr)
    # eligibility
    f = {k: t[k] for k in FLAGS}
    age = t["age"]
    not_male = t["sex"] != 1
    vasc = np.column_stack(
        [
            f["aneurysmal_vascular_disease"],
            f["arteriovenous_malformation"],
            f["intracerebral_haemorrhage"],
        ]
    )
    benzo = t["benzo"]
    bp_high = (t["bp_sys"] > cfg_e.bp_systolic_above_mmhg) | (
        t["bp_dia"] > cfg_e.bp_diastolic_above_mmhg
    )
    simple = np.column_stack(
        [
            f[k]
            for k in (
                "cardiac_disease",
                "psychotic_disorder",
                "mania_or_hypomania",
                "maoi",
                "psychostimulant",
                "substance_use_disorder",
                "hepatic_impairment",
            )
        ]
    )
    missing = (
        (dsm == 2)
        | (age < 0)
        | (trd == -1)
        | (vasc == -1).any(axis=1)
        | (f["ketamine_hypersensitivity"] == -1)
        | (f["hypertension"] == -1)
        | ((f["hypertension"] == 1) & (f["hypertension_controlled"] == -1))
        | (t["bp_sys"] < 0)
        | (simple == -1).any(axis=1)
        | (not_male & (f["pregnant_or_lactating"] == -1))
        | np.isnan(benzo)
    )
    caution = (
        ((f["hypertension"] == 1) & (f["hypertension_controlled"] == 0))
        | ((t["bp_sys"] >= 0) & bp_high)
        | (simple == 1).any(axis=1)
        | (not_male & (f["pregnant_or_lactating"] == 1))
        | (np.nan_to_num(benzo, nan=0.0) > cfg_e.benzodiazepine_above_mg)
    )
    base_ci = (
        (dsm == 1)
        | ((age >= 0) & (age < cfg_e.min_age_years))
        | (f["ketamine_hypersensitivity"] == 1)
    )
    vasc_any = (vasc == 1).any(axis=1)
    acute_si = np.isin(t["cssrs"], [_CSSRS[x] for x in cfg_e.acute_si_levels])
    esk_ci = base_ci | vasc_any | ((trd == 0) & ~acute_si)
    iv_hard = cfg_e.apply_esketamine_contraindications_to_iv
    iv_ci = base_ci | (vasc_any & iv_hard) | ((trd == 0) & cfg_e.iv_requires_trd)
    iv_caution = caution | (vasc_any & (not iv_hard)) | ((trd == 0) & (not cfg_e.iv_requires_trd))

    def status(ci: npt.NDArray[np.bool_], cau: npt.NDArray[np.bool_]) -> npt.NDArray[np.int64]:
        return np.where(ci, 1, np.where(missing, 3, np.where(cau, 2, 0)))

    esk, ivk = status(esk_ci, caution), status(iv_ci, iv_caution)
    # pathway primary
    urgent = (known[:, 8] & (phq[:, 8] >= cfg_p.item9_urgent_at)) | np.isin(
        t["cssrs"], [_CSSRS[x] for x in cfg_p.urgent_cssrs_levels]
    )
    open_ = np.isin(esk, [0, 2]) | np.isin(ivk, [0, 2])
    inc = (esk == 3) | (ivk == 3)
    treat = np.where(trd == 1, np.where(open_, 4, np.where(inc, 5, 6)), 7)
    path = np.where(~complete, 1, np.where(band_idx == 0, 2, np.where(band_idx == 1, 3, treat)))
    path = np.where(urgent, 0, path)
    return {
        k: np.asarray(v, dtype=np.int16)
        for k, v in {
            "dsm5": dsm,
            "trd": trd,
            "msm_total": msm,
            "thase_rush": tr,
            "iv_ketamine": ivk,
            "esketamine": esk,
            "pathway": path,
        }.items()
    }
