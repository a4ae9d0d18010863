"""Pharmacokinetics: exact linear compartment models for ketamine and esketamine.

Units throughout: time in minutes, doses in mg of base, concentration in ng/mL, AUC in
ng·min/mL. Predictions are decision support, not dosing guidance. See ``docs/pk.md``.
"""

from ketacare.domain.pk.cohort import CohortResult, cohort_percentiles, simulate_cohort
from ketacare.domain.pk.engine import Input, LinearSystem, Solution, solve
from ketacare.domain.pk.metrics import ExposureMetrics, exposure
from ketacare.domain.pk.models import IIV, ModelInfo, PKModel
from ketacare.domain.pk.protocols import PK_PROTOCOLS, PKProtocol, get_protocol
from ketacare.domain.pk.regimen import (
    Covariates,
    Dose,
    iv_bolus,
    iv_infusion,
    nasal_spray,
)
from ketacare.domain.pk.simulate import (
    MODELS,
    PKBand,
    PKSimulation,
    get_model,
    predict_band,
    simulate,
)

__all__ = [
    "IIV",
    "MODELS",
    "PK_PROTOCOLS",
    "CohortResult",
    "Covariates",
    "Dose",
    "ExposureMetrics",
    "Input",
    "LinearSystem",
    "ModelInfo",
    "PKBand",
    "PKModel",
    "PKProtocol",
    "PKSimulation",
    "Solution",
    "cohort_percentiles",
    "exposure",
    "get_model",
    "get_protocol",
    "iv_bolus",
    "iv_infusion",
    "nasal_spray",
    "predict_band",
    "simulate",
    "simulate_cohort",
    "solve",
]
