"""Read and write the intake JSON file (schema ``intake.schema.json``, version 1).

The parser is strict: unknown keys, wrong types and implausible values raise
:class:`~ketacare.domain.errors.InvalidAnswer` naming the dotted field path
(e.g. ``"medical.child_pugh"``). Absent keys and JSON ``null`` both mean *unknown*.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from importlib import resources
from typing import Any, Final, TypeVar

from ketacare.domain.dates import out_of_range
from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.intake.model import (
    CHILD_PUGH,
    CSSRS_LEVELS,
    DRUG_CLASSES,
    MSM_SEVERITIES,
    RECENCIES,
    SEXES,
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

SCHEMA_VERSION: Final = 1
T = TypeVar("T", bound=str)


def intake_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of the intake file, read from package data."""
    text = (
        resources.files("ketacare.domain.intake").joinpath("intake.schema.json").read_text("utf-8")
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def _obj(value: object, path: str, allowed: frozenset[str]) -> Mapping[str, object]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidAnswer(path or "intake", "must be a JSON object")
    for key in value:
        if key not in allowed:
            where = f"{path}.{key}" if path else str(key)
            raise InvalidAnswer(where, "is not a known field")
    return value


def _p(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _bool(d: Mapping[str, object], key: str, path: str) -> bool | None:
    v = d.get(key)
    if v is None or isinstance(v, bool):
        return v
    raise InvalidAnswer(_p(path, key), "must be true, false or null (unknown)")


def _num(d: Mapping[str, object], key: str, path: str, lo: float, hi: float) -> float | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int | float):
        raise InvalidAnswer(_p(path, key), "must be a number")
    if not lo <= v <= hi:
        raise InvalidAnswer(_p(path, key), f"must be from {lo:g} to {hi:g}, got {v}")
    return float(v)


def _int(d: Mapping[str, object], key: str, path: str, lo: int, hi: int) -> int | None:
    v = d.get(key)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise InvalidAnswer(_p(path, key), "must be a whole number")
    if not lo <= v <= hi:
        raise InvalidAnswer(_p(path, key), f"must be from {lo} to {hi}, got {v}")
    return v


def _enum(d: Mapping[str, object], key: str, path: str, choices: tuple[T, ...]) -> T | None:
    v = d.get(key)
    if v is None:
        return None
    for c in choices:
        if v == c:
            return c
    raise InvalidAnswer(_p(path, key), f"must be one of {', '.join(choices)}; got {v!r}")


def _date(d: Mapping[str, object], key: str, path: str) -> date | None:
    v = d.get(key)
    if v is None:
        return None
    if not isinstance(v, str):
        raise InvalidAnswer(_p(path, key), "must be a date YYYY-MM-DD")
    try:
        day = date.fromisoformat(v)
    except ValueError:
        raise InvalidAnswer(_p(path, key), f"must be a date YYYY-MM-DD, got {v!r}") from None
    reason = out_of_range(day)
    if reason:
        raise InvalidAnswer(_p(path, key), reason)
    return day


def _str(d: Mapping[str, object], key: str, path: str) -> str | None:
    v = d.get(key)
    if v is None or (isinstance(v, str) and v.strip()):
        return v
    raise InvalidAnswer(_p(path, key), "must be a non-empty string")


def _trial(value: object, path: str) -> AntidepressantTrial:
    d = _obj(value, path, frozenset(AntidepressantTrial.__dataclass_fields__))
    drug = _str(d, "drug", path)
    if drug is None:
        raise InvalidAnswer(_p(path, "drug"), "is required")
    return AntidepressantTrial(
        drug=drug,
        drug_class=_enum(d, "drug_class", path, DRUG_CLASSES),
        dose_mg_per_day=_num(d, "dose_mg_per_day", path, 0, 10_000),
        weeks=_num(d, "weeks", path, 0, 520),
        adequate_dose=_bool(d, "adequate_dose", path),
        outcome=_enum(d, "outcome", path, TRIAL_OUTCOMES),
        current_episode=_bool(d, "current_episode", path) if "current_episode" in d else True,
    )


def _treatment(value: object) -> TreatmentHistory:
    path = "treatment"
    d = _obj(value, path, frozenset(TreatmentHistory.__dataclass_fields__))
    raw = d.get("antidepressant_trials")
    trials: tuple[AntidepressantTrial, ...] | None = None
    if raw is not None:
        if not isinstance(raw, list):
            raise InvalidAnswer(f"{path}.antidepressant_trials", "must be a list (or null)")
        trials = tuple(_trial(t, f"{path}.antidepressant_trials[{i}]") for i, t in enumerate(raw))
    return TreatmentHistory(
        antidepressant_trials=trials,
        augmentation=_bool(d, "augmentation", path),
        psychotherapy=_bool(d, "psychotherapy", path),
        ect=_bool(d, "ect", path),
        ect_bilateral_failed=_bool(d, "ect_bilateral_failed", path),
    )


def _medical(value: object) -> MedicalHistory:
    path = "medical"
    fields = MedicalHistory.__dataclass_fields__
    d = _obj(value, path, frozenset(fields))
    flags = {
        k: _bool(d, k, path)
        for k in fields
        if k not in {"child_pugh", "substances", "substance_use_recency"}
        and k != "benzodiazepine_lorazepam_eq_mg"
    }
    subs = d.get("substances") or []
    if not isinstance(subs, list) or not all(isinstance(s, str) and s for s in subs):
        raise InvalidAnswer(f"{path}.substances", "must be a list of substance names")
    return MedicalHistory(
        **flags,
        child_pugh=_enum(d, "child_pugh", path, CHILD_PUGH),
        substances=tuple(subs),
        substance_use_recency=_enum(d, "substance_use_recency", path, RECENCIES),
        benzodiazepine_lorazepam_eq_mg=_num(d, "benzodiazepine_lorazepam_eq_mg", path, 0, 100),
    )


def _phq9(value: object) -> tuple[int | None, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 9:
        raise InvalidAnswer("screening.phq9", "must be a list of 9 answers (0-3 or null)")
    out: list[int | None] = []
    for i, v in enumerate(value, start=1):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 3):
            raise InvalidAnswer(f"screening.phq9.{i}", f"must be 0-3 or null, got {v!r}")
        out.append(v)
    return tuple(out)


def intake_from_dict(data: object) -> Intake:
    """Build an :class:`~ketacare.domain.intake.model.Intake` from a parsed JSON document.

    Raises
    ------
    InvalidAnswer
        Naming the dotted field path and the reason.

    Examples
    --------
    >>> i = intake_from_dict({"schema_version": 1, "demographics": {"age_years": 40}})
    >>> (i.demographics.age_years, i.medical.hypertension)
    (40, None)
    """
    top = _obj(data, "", frozenset(Intake.__dataclass_fields__) | {"schema_version"})
    if top.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        raise InvalidAnswer("schema_version", f"must be {SCHEMA_VERSION}")
    dm = _obj(top.get("demographics"), "demographics", frozenset(Demographics.__dataclass_fields__))
    ep = _obj(top.get("episode"), "episode", frozenset(EpisodeHistory.__dataclass_fields__))
    sc = _obj(top.get("screening"), "screening", frozenset(Screening.__dataclass_fields__))
    ds = _obj(top.get("dsm5"), "dsm5", frozenset(Dsm5Attestations.__dataclass_fields__))
    bp_raw = top.get("blood_pressure")
    bp = None
    if bp_raw is not None:
        b = _obj(bp_raw, "blood_pressure", frozenset(BloodPressure.__dataclass_fields__))
        sys_ = _int(b, "systolic_mmhg", "blood_pressure", 50, 300)
        dia = _int(b, "diastolic_mmhg", "blood_pressure", 20, 200)
        if sys_ is None or dia is None:
            raise InvalidAnswer("blood_pressure", "needs both systolic_mmhg and diastolic_mmhg")
        if dia >= sys_:
            raise InvalidAnswer("blood_pressure.diastolic_mmhg", "must be below systolic")
        bp = BloodPressure(sys_, dia, _date(b, "measured_on", "blood_pressure"))
    start = _date(ep, "current_episode_start", "episode")
    assessed = _date(top, "assessed_on", "")
    if start is not None and assessed is not None and start > assessed:
        raise InvalidAnswer("episode.current_episode_start", "is after assessed_on")
    return Intake(
        assessed_on=assessed,
        demographics=Demographics(
            age_years=_int(dm, "age_years", "demographics", 0, 120),
            sex=_enum(dm, "sex", "demographics", SEXES),
            weight_kg=_num(dm, "weight_kg", "demographics", 30, 300),
            height_cm=_num(dm, "height_cm", "demographics", 100, 250),
        ),
        episode=EpisodeHistory(
            current_episode_start=start,
            number_of_episodes=_int(ep, "number_of_episodes", "episode", 1, 100),
        ),
        treatment=_treatment(top.get("treatment")),
        medical=_medical(top.get("medical")),
        family_history_mental_illness=_bool(top, "family_history_mental_illness", ""),
        blood_pressure=bp,
        screening=Screening(
            phq9=_phq9(sc.get("phq9")),
            phq9_difficulty=_int(sc, "phq9_difficulty", "screening", 0, 3),
            cssrs_risk=_enum(sc, "cssrs_risk", "screening", CSSRS_LEVELS),
        ),
        dsm5=Dsm5Attestations(**{k: _bool(ds, k, "dsm5") for k in ds}),
        clinician_severity=_enum(top, "clinician_severity", "", MSM_SEVERITIES),
    )


def _plain(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {k: _plain(getattr(value, k)) for k in value.__dataclass_fields__}
    return value


def intake_to_dict(intake: Intake) -> dict[str, object]:
    """Return the JSON-ready form of ``intake``; ``intake_from_dict`` reads it back unchanged."""
    out = _plain(intake)
    assert isinstance(out, dict)
    return {"schema_version": SCHEMA_VERSION, **out}
