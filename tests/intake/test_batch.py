"""The vectorised intake rules agree with the per-intake path on random intakes."""

from __future__ import annotations

import json
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.benchmark_code import (
    CONCLUSIONS,
    FLAGS,
    PRIMARY,
    STATUSES,
    assess_table,
    table_from_intakes,
)

from ketacare.domain.intake.json_file import intake_from_dict
from ketacare.domain.intake.model import (
    CSSRS_LEVELS,
    DRUG_CLASSES,
    MSM_SEVERITIES,
    TRIAL_OUTCOMES,
    AntidepressantTrial,
    BloodPressure,
    Demographics,
    Dsm5Attestations,
    EpisodeHistory,
    Intake,
    MedicalHistory,
    Screening,
    TreatmentHistory,
)
from ketacare.domain.intake.verdict import assess_intake

# Several drugs, with repeats under other spellings (TRD counts different drugs, issue 14).
DRUGS = ("sertraline", "Zoloft", "Sertraline ", "venlafaxine", "Effexor XR", "nortriptyline", "d")


def random_intake(r: random.Random) -> Intake:
    def b(p_unknown: float = 0.1, p_true: float = 0.1) -> bool | None:
        x = r.random()
        return None if x < p_unknown else x < p_unknown + p_true

    def pick(xs: tuple[str, ...]) -> Any:
        return r.choice([None, *xs])

    trials = (
        None
        if r.random() < 0.1
        else tuple(
            AntidepressantTrial(
                r.choice(DRUGS),
                pick(DRUG_CLASSES),
                100,
                r.choice([None, 3, 4, 6, 8]),
                b(0.1, 0.8),
                pick(TRIAL_OUTCOMES),
                b(0.05, 0.85),
            )
            for _ in range(r.randint(0, 5))
        )
    )
    phq = (
        None
        if r.random() < 0.05
        else tuple(None if r.random() < 0.03 else r.randint(0, 3) for _ in range(9))
    )
    flags: dict[str, Any] = {f: b(0.001, 0.02) for f in FLAGS}
    start = date(2024, 1, 1) + timedelta(days=r.randint(-900, 300))
    return Intake(
        assessed_on=None if r.random() < 0.05 else date(2025, 1, 1),
        demographics=Demographics(
            r.choice([None, 16, 30, 50, 50, 70]), pick(("female", "male", "other"))
        ),
        episode=EpisodeHistory(None if r.random() < 0.05 else start),
        treatment=TreatmentHistory(trials, b(0.1, 0.5), b(), b(0.1, 0.3), b(0.3, 0.5)),
        medical=MedicalHistory(
            **flags,
            benzodiazepine_lorazepam_eq_mg=r.choice([None, 0.0, 0.0, 0.0, 2.0, 3.0, 4.5]),
        ),
        blood_pressure=None
        if r.random() < 0.05
        else BloodPressure(
            r.choice([120, 141, 150]),
            r.choice([80, 91]),
            r.choice([None, *(date(2025, 1, 1) - timedelta(days=d) for d in (0, 3, 30, 31, 400))]),
        ),
        screening=Screening(phq, None, pick(CSSRS_LEVELS)),
        dsm5=Dsm5Attestations(b(0.02, 0.95), b(0.02, 0.95), b(0.02, 0.95), b(0.02, 0.95)),
        clinician_severity=pick(MSM_SEVERITIES) if r.random() < 0.3 else None,
    )


def test_batch_matches_scalar() -> None:
    r = random.Random(20250301)
    example = Path(__file__).with_name("example_intake.json")
    intakes = [random_intake(r) for _ in range(3000)]
    intakes.append(intake_from_dict(json.loads(example.read_text())))
    codes = assess_table(table_from_intakes(intakes))
    seen: set[str] = set()
    for k, i in enumerate(intakes):
        a = assess_intake(i)
        assert CONCLUSIONS[codes["dsm5"][k]] == a.dsm5.conclusion, k
        assert {1: True, 0: False, -1: None}[int(codes["trd"][k])] == a.trd.trd, k
        assert int(codes["msm_total"][k]) == (-1 if a.msm.total is None else a.msm.total), k
        assert int(codes["thase_rush"][k]) == (
            -1 if a.thase_rush.stage is None else a.thase_rush.stage
        ), k
        assert STATUSES[codes["esketamine"][k]] == a.esketamine.status, k
        assert STATUSES[codes["iv_ketamine"][k]] == a.iv_ketamine.status, k
        assert PRIMARY[codes["pathway"][k]] == a.pathway.primary, k
        seen.update({a.esketamine.status, a.pathway.primary})
    assert {
        "eligible",
        "not_eligible",
        "needs_review",
        "incomplete",
        "urgent_evaluation",
        "ketamine_evaluation",
        "self_care_and_rescreen",
    } <= seen
