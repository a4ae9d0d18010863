"""Edges of the intake, measurement-based-care, instrument, analytics and PK rules that no
other test reaches (issue 16.9: 100% of ``ketacare.domain`` lines). Each refusal names its
field or says what is wrong; each branch is checked against a value worked out by hand."""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ketacare.domain.analytics import AssessmentTable, PatientTable, SessionTable
from ketacare.domain.analytics.cohort import as_seconds
from ketacare.domain.analytics.definitions import AnalyticsConfig, age_band_labels
from ketacare.domain.analytics.published import parse_published_rates
from ketacare.domain.analytics.stats import wilson_interval
from ketacare.domain.errors import DomainError, InvalidAnswer
from ketacare.domain.instruments import (
    InstrumentDefinitionError,
    ScoringConfig,
    config_from_dict,
    get_instrument,
    parse_instrument,
    score,
    with_item_texts,
)
from ketacare.domain.instruments.loader import load_folder
from ketacare.domain.instruments.scoring import _config_cache, compiled
from ketacare.domain.instruments.texts import MAX_TEXT_CHARS
from ketacare.domain.intake.eligibility import bp_staleness, check_eligibility
from ketacare.domain.intake.json_file import intake_from_dict
from ketacare.domain.intake.model import BloodPressure
from ketacare.domain.intake.trd import TrdConfig
from ketacare.domain.intake.verdict import assess_intake, verdict_to_dict
from ketacare.domain.mbc.alerts import AlertConfig, evaluate_alerts
from ketacare.domain.mbc.outcomes import Assessment, outcome, select_baseline
from ketacare.domain.pk import Covariates, iv_bolus, iv_infusion, simulate, simulate_cohort
from ketacare.domain.pk.engine import Input, LinearSystem, solve
from ketacare.domain.pk.metrics import exposure, metric_grid
from ketacare.domain.pk.regimen import Dose
from ketacare.domain.sessions.rems import PMF_FIELDS, missing

REPO = Path(__file__).resolve().parents[1]
EXAMPLE: dict[str, Any] = json.loads((REPO / "tests/intake/example_intake.json").read_text())
INSTRUMENTS = REPO / "src/ketacare/domain/instruments/data"


# --- intake JSON file: every refusal names the dotted field --------------------------------
def _doc(path: str, value: object) -> dict[str, Any]:
    doc = copy.deepcopy(EXAMPLE)
    *head, last = path.split(".")
    node: Any = doc
    for k in head:
        node = node[k]
    node[last] = value
    return doc


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("medical", [1], "medical"),
        ("demographics.weight_kg", "70", "demographics.weight_kg"),
        ("demographics.age_years", 40.5, "demographics.age_years"),
        ("blood_pressure.measured_on", 20250301, "blood_pressure.measured_on"),
        ("blood_pressure.measured_on", "1850-01-01", "blood_pressure.measured_on"),
        ("treatment.psychotherapy", "yes", "treatment.psychotherapy"),
        ("treatment.antidepressant_trials", {"drug": "x"}, "treatment.antidepressant_trials"),
        ("medical.substance_use_disorder", True, None),
        ("screening.phq9", [0, 1, 2], "screening.phq9"),
        ("schema_version", 2, "schema_version"),
        ("blood_pressure.diastolic_mmhg", None, "blood_pressure"),
        ("episode.current_episode_start", "2025-04-01", "episode.current_episode_start"),
    ],
)
def test_intake_file_refusals_name_the_field(path: str, value: object, field: str | None) -> None:
    doc = _doc(path, value)
    if field is None:
        intake_from_dict(doc)  # a plain boolean is fine
        return
    with pytest.raises(InvalidAnswer) as err:
        intake_from_dict(doc)
    assert err.value.field == field, str(err.value)


def test_intake_substances_and_text_fields() -> None:
    doc = _doc("medical.substances", ["alcohol", ""])
    with pytest.raises(InvalidAnswer) as err:
        intake_from_dict(doc)
    assert err.value.field == "medical.substances"
    doc = copy.deepcopy(EXAMPLE)
    doc["treatment"]["antidepressant_trials"][0]["drug"] = "  "
    with pytest.raises(InvalidAnswer) as err:
        intake_from_dict(doc)
    assert err.value.field.endswith(".drug")


def test_verdict_json_form_lists_every_rule_with_reasons() -> None:
    d = verdict_to_dict(assess_intake(intake_from_dict(EXAMPLE)))
    assert set(d) >= {"dsm5", "trd", "eligibility", "pathway"}
    elig = d["eligibility"]
    assert isinstance(elig, dict) and set(elig) == {"iv_ketamine", "esketamine"}
    for result in elig.values():
        assert result["status"] in (
            "eligible",
            "eligible_with_cautions",
            "ineligible",
            "incomplete",
        )
        for kind in ("contraindications", "cautions", "missing", "notes"):
            for reason in result[kind]:
                assert set(reason) >= {"rule_id", "text", "source"}


def test_bp_age_limit_off_and_hypertension_control_unknown() -> None:
    bp = BloodPressure(120, 80, date(2019, 5, 2))
    assert bp_staleness(bp, date(2025, 3, 1), None) is None
    verdict = assess_intake(intake_from_dict(EXAMPLE))
    intake = intake_from_dict(EXAMPLE)
    intake = dataclasses.replace(
        intake,
        medical=dataclasses.replace(
            intake.medical, hypertension=True, hypertension_controlled=None
        ),
    )
    e = check_eligibility("esketamine", intake, verdict.dsm5, verdict.trd)
    assert "medical.hypertension_controlled" in e.missing_fields


def test_trd_config_reading_must_be_known() -> None:
    with pytest.raises(DomainError, match="thase_rush_reading"):
        TrdConfig(thase_rush_reading="medium")  # type: ignore[arg-type]


# --- measurement-based care -------------------------------------------------------------------
def test_no_baseline_without_a_first_treatment_and_its_outcome() -> None:
    a = [Assessment(datetime(2024, 1, 1), 20), Assessment(datetime(2024, 2, 1), 4)]
    assert select_baseline(a) is None
    o = outcome("phq9", a)
    assert o.baseline is None and o.change is None and o.remission is True  # PHQ-9 4 <= 4


def test_worsening_on_a_lower_is_worse_instrument() -> None:
    """MOAA/S falls as sedation deepens: 5 -> 3 is 2 points worse."""
    base, now = score("moaas", [5]), score("moaas", [3])
    alerts = evaluate_alerts(now, baseline=base, config=AlertConfig(mcid={"moaas": 2}))
    assert "worsening.mcid" in {a.rule_id for a in alerts}
    assert "2 points worse" in next(a.reason for a in alerts if a.rule_id == "worsening.mcid")


def test_rems_adverse_event_details_required() -> None:
    values = {f.id: "no" for f in PMF_FIELDS} | {"adverse_events": "yes"}
    values["adverse_event_details"] = ""
    assert "rems.adverse_event_details" in {r.rule_id for r in missing(values)}


# --- instruments ------------------------------------------------------------------------------
def test_scoring_configuration_refusals() -> None:
    with pytest.raises(InvalidAnswer) as err:
        config_from_dict({"colours": {}})
    assert err.value.field == "config.colours"
    with pytest.raises(InvalidAnswer) as err:
        config_from_dict({"band_sets": ["hamd17"]})
    assert err.value.field == "config.band_sets"
    with pytest.raises(InvalidAnswer) as err:
        config_from_dict({"cssrs_slv_recent_days": "soon"})
    assert err.value.field == "config"
    with pytest.raises(InvalidAnswer, match="unknown band set"):
        score("phq9", [0] * 9, ScoringConfig(band_sets={"phq9": "nope"}))
    with pytest.raises(InvalidAnswer, match="unknown scoring convention"):
        score("phq9", [0] * 9, ScoringConfig(variants={"phq9": "0-6"}))


def test_variant_in_the_result_and_an_unknown_item() -> None:
    r = score("bprs-positive", [1, 1, 1, 1], ScoringConfig(variants={"bprs-positive": "0-6"}))
    assert r.to_dict()["variant"] == "0-6"
    with pytest.raises(KeyError):
        get_instrument("phq9").item("phq9.99")


def test_the_configured_scorer_cache_is_bounded() -> None:
    for k in range(260):
        compiled("phq2", ScoringConfig(thresholds={"phq2.positive_screen": 1 + k % 6 + k / 1000}))
    assert len(_config_cache) <= 257


def test_item_text_too_long() -> None:
    inst = get_instrument("phq9")
    texts = {inst.items[0].id: "x" * (MAX_TEXT_CHARS + 1)}
    with pytest.raises(InvalidAnswer, match="longer than"):
        with_item_texts("phq9", texts)


def _inst(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((INSTRUMENTS / f"{name}.json").read_text("utf-8"))
    return data


def _broken(name: str, change: Any) -> dict[str, Any]:
    d = copy.deepcopy(_inst(name))
    change(d)
    return d


@pytest.mark.parametrize(
    ("name", "change", "message"),
    [
        ("phq9", lambda d: d.pop("scoring"), "missing key 'scoring'"),
        ("phq9", lambda d: d["items"][0].update(options="nope"), "unknown option set"),
        ("phq9", lambda d: d["items"].append(copy.deepcopy(d["items"][0])), "duplicate item"),
        ("phq9", lambda d: d["scoring"].update(rule="median"), "unknown scoring rule"),
        ("phq9", lambda d: d.update(default_band_set="nope"), "unknown default band set"),
        ("phq9", lambda d: d["flags"][0].update(kind="vibes"), "unknown flag kind"),
        ("phq9", lambda d: d["flags"][0].update(item="phq9.99"), "unknown item"),
    ],
)
def test_instrument_definition_refusals(name: str, change: Any, message: str) -> None:
    with pytest.raises(InstrumentDefinitionError, match=message):
        parse_instrument(_broken(name, change))


def test_option_values_must_be_contiguous() -> None:
    def gap(d: dict[str, Any]) -> None:
        opts = next(iter(d["option_sets"].values()))
        opts[-1]["value"] = opts[-1]["value"] + 1

    with pytest.raises(InstrumentDefinitionError, match="contiguous"):
        parse_instrument(_broken("phq9", gap))


# --- analytics ----------------------------------------------------------------------------
def test_cohort_tables_from_records_and_their_refusals() -> None:
    a = AssessmentTable.from_records(
        [
            {"patient_id": "p1", "date": "2024-01-01", "instrument": "phq9", "total": 20},
            {"patient_id": "p1", "date": date(2024, 1, 8), "instrument": "phq9", "total": 12},
            {"patient_id": "p1", "date": datetime(2024, 1, 8), "instrument": "gad7", "total": 9},
        ],
        "phq9",
    )
    assert len(a) == 2 and a.total.tolist() == [20.0, 12.0]
    s = SessionTable.from_records([{"patient_id": "p1", "date": "2024-01-02", "protocol": "x"}])
    assert len(s) == 1
    with pytest.raises(DomainError, match="not an ISO date"):
        SessionTable.from_records([{"patient_id": 1, "date": "soon", "protocol": "x"}])
    with pytest.raises(DomainError, match="not a date or time"):
        SessionTable.from_records([{"patient_id": 1, "date": 3.5, "protocol": "x"}])
    two_d = as_seconds(np.array([["2024-01-01"], ["2024-01-02"]], dtype="datetime64[s]"))
    assert two_d.shape == (2,)
    with pytest.raises(DomainError, match="missing date at row 1"):
        as_seconds(np.array(["2024-01-01", "NaT"], dtype="datetime64[s]"))
    ids = AssessmentTable.from_arrays("phq9", [[1], [2]], ["2024-01-01", "2024-01-02"], [1, 2])
    assert ids.patient_id.shape == (2,)
    mixed = SessionTable.from_arrays(np.array([1, "b"], dtype=object), ["2024-01-01"] * 2, "x")
    assert mixed.patient_id.tolist() == ["1", "b"]
    with pytest.raises(DomainError, match="unique"):
        PatientTable.from_arrays([1, 1], ["F", "M"], [30, 40])
    with pytest.raises(DomainError, match="age out of range at row 1"):
        PatientTable.from_arrays([1, 2], ["F", "M"], [30, 140])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"timepoint_window_days": -1}, "windows"),
        ({"age_bands": (25, 18)}, "age band edges"),
    ],
)
def test_analytics_config_refusals(change: dict[str, Any], message: str) -> None:
    with pytest.raises(DomainError, match=message):
        AnalyticsConfig(**change)


def test_response_reduction_must_be_a_fraction() -> None:
    from ketacare.domain.mbc.outcomes import OutcomeConfig

    with pytest.raises(DomainError, match="response reduction"):
        AnalyticsConfig(outcome=OutcomeConfig(response_reduction=1.5))


def test_no_age_bands_and_confidence_range() -> None:
    assert age_band_labels(()) == ("all ages",)
    with pytest.raises(DomainError, match="confidence"):
        wilson_interval(3, 10, confidence=1.0)


def test_published_row_without_a_named_instrument() -> None:
    r = parse_published_rates(
        [{"study": "X", "design": "open", "n": "10", "definition": "response: CGI-I much "
          "improved", "timepoint": "week 4", "response_pct": "50", "remission_pct": ""}],
        "x.csv",
    )  # fmt: skip
    assert r[0].instrument is None


# --- PK -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_min": float("nan"), "amount_mg": 10.0}, "finite"),
        ({"time_min": 0.0, "amount_mg": 0.0}, "positive amount"),
        ({"time_min": 0.0, "amount_mg": 10.0, "duration_min": -1.0}, "must not be negative"),
        ({"time_min": 0.0, "amount_mg": 10.0, "route": "oral"}, "unknown route"),
    ],
)
def test_dose_refusals(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(DomainError, match=message):
        Dose(**kwargs)


def test_regimen_and_covariate_refusals() -> None:
    with pytest.raises(DomainError, match="use iv_bolus"):
        iv_infusion(mg=10.0, minutes=0.0)
    with pytest.raises(DomainError, match="1-D"):
        Covariates.of(weight_kg=[[70.0, 80.0]])
    with pytest.raises(DomainError, match="different lengths"):
        Covariates.of(weight_kg=[70.0, 80.0], age_years=[40.0, 50.0, 60.0])
    with pytest.raises(DomainError, match="age_years"):
        Covariates.of(age_years=-1.0)


def test_simulation_refusals() -> None:
    dose = (iv_bolus(mg=35.0),)
    with pytest.raises(DomainError, match="times"):
        simulate("domino", dose, [])
    with pytest.raises(DomainError, match="window"):
        simulate("domino", dose, [0.0, 10.0], until_min=0.0)
    with pytest.raises(DomainError, match="at least one patient"):
        simulate_cohort("domino", dose, 0, end_min=60.0)


def test_cohort_progress_is_reported_per_chunk() -> None:
    seen: list[int] = []
    simulate_cohort(
        "domino", (iv_bolus(mg=35.0),), 5, end_min=60.0, chunk=2, on_progress=seen.append
    )
    assert seen == [2, 2, 1]


def _one_compartment(k: float = 0.1) -> LinearSystem:
    return LinearSystem(np.array([[[-k]]]), np.array([[10.0]]))


def test_engine_refusals() -> None:
    bolus = Input(0.0, np.array([1.0]), 0)
    with pytest.raises(DomainError, match="shape"):
        solve(LinearSystem(np.array([[-0.1]]), np.array([[10.0]])), [bolus])
    with pytest.raises(DomainError, match="at least one dose"):
        solve(_one_compartment(), [])
    with pytest.raises(DomainError, match="drain"):
        solve(_one_compartment(k=0.0), [bolus])
    with pytest.raises(DomainError, match="bad compartment"):
        solve(_one_compartment(), [Input(0.0, np.array([1.0]), 1)])
    rotation = np.array([[[-0.1, 1.0], [-1.0, -0.1]]])  # eigenvalues -0.1 +/- 1i
    with pytest.raises(DomainError, match="complex eigenvalues"):
        solve(LinearSystem(rotation, np.array([[10.0, 0.0]])), [bolus])


def test_metric_refusals() -> None:
    sol = solve(_one_compartment(), [Input(0.0, np.array([1.0]), 0)])
    with pytest.raises(DomainError, match="end after it starts"):
        metric_grid(sol, 10.0, 10.0)
    with pytest.raises(DomainError, match="threshold"):
        exposure(sol, 0.0, 60.0, threshold_ng_per_ml=0.0)


def test_a_repeated_eigenvalue_returned_as_a_conjugate_pair_is_split() -> None:
    """LAPACK may return a repeated eigenvalue as -0.1 +/- 1e-13i; its real eigenvectors
    coincide (singular), so it is split like any repeated eigenvalue instead of failing."""
    k = np.array([[[-0.1, 1e-13], [-1e-13, -0.1]]])
    assert np.iscomplexobj(np.linalg.eigvals(k))
    sol = solve(LinearSystem(k, np.array([[10.0, 0.0]])), [Input(0.0, np.array([1.0]), 0)])
    # Compartment 1 drains at 0.1/min and (to 1e-13) receives nothing back: C = 10 e^(-0.1 t).
    assert sol.conc(np.array([0.0, 10.0]))[0] == pytest.approx(
        [10.0, 10.0 * np.exp(-1.0)], rel=1e-5
    )


def test_an_instrument_file_must_be_named_after_its_id(tmp_path: Path) -> None:
    (tmp_path / "phq-9.json").write_text((INSTRUMENTS / "phq9.json").read_text("utf-8"))
    with pytest.raises(InstrumentDefinitionError, match="does not match"):
        load_folder(tmp_path)
    (tmp_path / "phq-9.json").rename(tmp_path / "phq9.json")
    assert list(load_folder(tmp_path)) == ["phq9"]
