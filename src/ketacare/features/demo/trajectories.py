"""Synthetic patients and PHQ-9 trajectories, calibrated to a published figure (pure, seeded).

Calibration target: Oliver et al. 2022 (J Clin Psychiatry 83:21m14336; clinical reference §7.3,
``shared/data/published/ketamine_response_rates.csv``): about **50 % response** and **20 %
remission** on the PHQ-9 within 6 weeks of IV ketamine. Each patient draws an outcome class
(remitter 20 %, responder without remission 30 %, non-responder 50 %) and a plateau total that
meets exactly that class; the trajectory falls from the baseline towards the plateau with a
time constant of a few days and settles on it from day 28, so the observed-case response and
remission at day 42 (and at the end of induction) estimate 50 % and 20 % with sampling error
only. Dropout is independent of the class, so it does not bias the observed-case rates.
A third of the responders relapse (two consecutive fortnightly totals >= 10) during follow-up.

Nothing here touches the database: :func:`draw_cohort` returns plain records that
:mod:`ketacare.features.demo.generate` stores through the feature services.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

__all__ = [
    "CALIBRATION",
    "SyntheticPatient",
    "draw_cohort",
    "phq9_answers",
]

#: Target rates and where they come from (shown in the docs and the generator output).
CALIBRATION = {
    "study": "Oliver 2022",
    "instrument": "phq9",
    "response": 0.50,
    "remission": 0.20,
    "timepoint": "within 6 weeks (ketacare: observed cases at day 42 and end of induction)",
}
P_REMITTER, P_RESPONDER = 0.20, 0.30  # the rest do not respond
P_SINGLE_SESSION, P_PARTIAL = 0.08, 0.10  # dropout after the first session / before the end
P_RELAPSE = 1 / 3  # of responders, during follow-up
TAU_DAYS = 5.0  # time constant of the fall towards the plateau
PROTOCOL_SHARE = (("iv-ketamine-induction", 0.75), ("esketamine-trd", 0.25))
#: Assessment days after the first session (-7: screening at intake; 0: before the session).
VISIT_DAYS = (-7, 0, 7, 14, 21, 28, 35, 42, 56, 70, 84, 98, 112)

GIVEN = (
    "Alex",
    "Sam",
    "Robin",
    "Jordan",
    "Casey",
    "Morgan",
    "Riley",
    "Jamie",
    "Avery",
    "Quinn",
    "Taylor",
    "Charlie",
    "Drew",
    "Emerson",
    "Finley",
    "Harper",
    "Kai",
    "Logan",
    "Parker",
    "Rowan",
)
FAMILY = (
    "Ashdown",
    "Birch",
    "Calder",
    "Dunmore",
    "Elwood",
    "Fairley",
    "Garrow",
    "Hollis",
    "Ingram",
    "Jessop",
    "Kirkby",
    "Lowther",
    "Marlow",
    "Norcott",
    "Oakes",
    "Pryor",
    "Quarry",
    "Redfern",
    "Stroud",
    "Thackeray",
)


@dataclass(frozen=True, slots=True)
class SyntheticPatient:
    """One synthetic patient: who, which course, and the PHQ-9 totals by day.

    ``visits`` are ``(day after the first session, PHQ-9 total)``; the caller places day 0 on
    the first planned session of the course (``start`` is the requested plan start).
    """

    index: int
    given_name: str
    family_name: str
    sex: str
    age_years: int
    birth_date: date
    weight_kg: float
    protocol_id: str
    start: date
    sessions_given: int | None  # None: the whole induction course
    outcome: str  # remitter, responder, non_responder
    baseline: int
    visits: tuple[tuple[int, int], ...]
    relapse_from_day: int | None


def _plateau(rng: np.random.Generator, outcome: str, baseline: int) -> int:
    if outcome == "remitter":
        return int(rng.integers(0, 5))
    if outcome == "responder":
        return int(np.clip(round(baseline * rng.uniform(0.22, 0.5)), 5, baseline // 2))
    return int(np.clip(round(baseline * rng.uniform(0.55, 1.05)), baseline // 2 + 1, 24))


def _keep_class(total: int, outcome: str, baseline: int) -> int:
    """Clamp a plateau-phase total so that it keeps the patient's outcome class."""
    if outcome == "remitter":
        return int(np.clip(total, 0, 4))
    if outcome == "responder":
        return int(np.clip(total, 5, baseline // 2))
    return int(np.clip(total, baseline // 2 + 1, 24))


def _visits(
    rng: np.random.Generator, outcome: str, baseline: int, last_day: int, relapse: int | None
) -> tuple[tuple[int, int], ...]:
    plateau = _plateau(rng, outcome, baseline)
    out: list[tuple[int, int]] = []
    for day in VISIT_DAYS:
        if day > last_day:
            break
        if day <= 0:
            total = baseline if day == 0 else int(np.clip(baseline + rng.integers(-1, 2), 10, 24))
        elif relapse is not None and day >= relapse:
            total = int(np.clip(round(baseline * rng.uniform(0.7, 1.0)), 10, 24))
        elif day >= 28:
            total = _keep_class(plateau + int(rng.integers(-1, 2)), outcome, baseline)
        else:
            mean = plateau + (baseline - plateau) * np.exp(-day / TAU_DAYS)
            total = int(np.clip(round(mean + rng.normal(0, 1.2)), 0, 24))
        out.append((day, total))
    return tuple(out)


def draw_cohort(n: int, seed: int, today: date) -> list[SyntheticPatient]:
    """``n`` synthetic patients, identical for the same ``seed`` and ``today``.

    Courses start 60 to 420 days before ``today``; every assessment lies before ``today``.
    """
    rng = np.random.default_rng(seed)
    protocols = [p for p, _ in PROTOCOL_SHARE]
    shares = [s for _, s in PROTOCOL_SHARE]
    out: list[SyntheticPatient] = []
    for i in range(n):
        sex = str(rng.choice(["female", "male", "other"], p=[0.6, 0.38, 0.02]))
        age = int(np.clip(round(rng.normal(44, 13)), 19, 79))
        start = today - timedelta(days=int(rng.integers(60, 421)))
        birth = start - timedelta(days=age * 365 + int(rng.integers(10, 350)))
        weight = float(np.clip(round(rng.normal(78 if sex == "male" else 68, 12)), 45, 140))
        protocol = str(rng.choice(protocols, p=shares))
        u = rng.uniform()
        outcome = (
            "remitter"
            if u < P_REMITTER
            else "responder"
            if u < P_REMITTER + P_RESPONDER
            else "non_responder"
        )
        baseline = int(np.clip(round(rng.normal(18, 3.5)), 12, 24))
        v = rng.uniform()
        sessions_given: int | None
        if v < P_SINGLE_SESSION:
            sessions_given, last_day = 1, int(rng.choice([0, 7]))
        elif v < P_SINGLE_SESSION + P_PARTIAL:
            sessions_given, last_day = int(rng.integers(2, 5)), int(rng.choice([14, 21]))
        else:
            sessions_given, last_day = None, int(rng.choice([42, 56, 70, 84, 98, 112]))
        # The course starts on the first planned weekday, up to 6 days after ``start``: keep
        # every visit at least a week before ``today``.
        last_day = min(last_day, (today - start).days - 14)
        relapse = None
        if outcome != "non_responder" and rng.uniform() < P_RELAPSE:
            relapse = int(rng.choice([56, 70, 84]))
        out.append(
            SyntheticPatient(
                index=i + 1,
                given_name=str(rng.choice(GIVEN)),
                family_name=str(rng.choice(FAMILY)),
                sex=sex,
                age_years=age,
                birth_date=birth,
                weight_kg=weight,
                protocol_id=protocol,
                start=start,
                sessions_given=sessions_given,
                outcome=outcome,
                baseline=baseline,
                visits=_visits(rng, outcome, baseline, last_day, relapse),
                relapse_from_day=relapse,
            )
        )
    return out


def phq9_answers(total: int, rng: np.random.Generator) -> list[int]:
    """Nine PHQ-9 answers summing to ``total`` (0-24); item 9 (self-harm) is always 0."""
    if not 0 <= total <= 24:
        raise ValueError(f"synthetic PHQ-9 totals are 0-24, not {total}")
    base, extra = divmod(total, 8)
    items = [base + 1] * extra + [base] * (8 - extra)
    rng.shuffle(items)
    return [int(x) for x in items] + [0]
