"""Code selection at every edge (issue 20.1): dose 56 vs 84 mg, first vs established patient,
dates around 2026-01-01, E/M bundling, IV infusion hours and J3490 units."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ketacare.domain.billing.codes import (
    CODE_TABLE,
    BillingConfig,
    PayerPolicy,
    SessionFacts,
    code_rule,
    infusion_hours,
    suggest,
)

DAY = date(2025, 12, 31)
START = datetime(2025, 12, 31, 14, 0, tzinfo=UTC)
DRUG_PAYER = PayerPolicy(uses_g_codes=False, bills_drug_separately=True)


def esk(
    dose: float, day: date = DAY, prior: tuple[date, ...] = (date(2025, 12, 1),), **kw: object
) -> SessionFacts:
    start = datetime.combine(day, START.timetz())
    return SessionFacts(
        service_date=day, route="esketamine", signed=True, dose_mg=dose, dose_start=start,
        monitoring_end=start + timedelta(minutes=125), prior_service_dates=prior, **kw,  # type: ignore[arg-type]
    )  # fmt: skip


@pytest.mark.parametrize(
    ("dose", "code"), [(28, "G2082"), (56, "G2082"), (56.0001, "G2083"), (84, "G2083")]
)
def test_g_code_by_dose(dose: float, code: str) -> None:
    s = suggest(esk(dose))
    assert s.codes == (code,)
    assert {r.rule_id for r in s.lines[0].reasons} >= {"BILL-ESK-DOSE", "BILL-ESTABLISHED"}
    assert all(r.source for r in s.lines[0].reasons)


def test_threshold_is_configurable() -> None:
    assert suggest(esk(84), config=BillingConfig(g_code_threshold_mg=84)).codes == ("G2082",)


def test_first_visit_gets_no_g_code() -> None:
    s = suggest(esk(56, prior=()))
    assert s.codes == ()
    assert {n.rule_id for n in s.notes} == {"BILL-ESK-NEW-PATIENT", "BILL-NEW-PATIENT"}


def test_same_day_earlier_visit_does_not_make_established() -> None:
    assert suggest(esk(56, prior=(DAY,))).codes == ()


def test_lookback_edges() -> None:
    three_years = DAY - timedelta(days=1095)
    assert suggest(esk(56, prior=(three_years,))).codes == ("G2082",)
    assert suggest(esk(56, prior=(three_years - timedelta(days=1),))).codes == ()


def test_recorded_status_wins() -> None:
    assert suggest(esk(84, prior=(), established=True)).codes == ("G2083",)
    assert suggest(esk(84, established=False)).codes == ()


@pytest.mark.parametrize(
    ("day", "code"),
    [(date(2025, 12, 31), "S0013"), (date(2026, 1, 1), "J0013"), (date(2026, 1, 2), "J0013")],
)
def test_drug_code_switches_on_2026_01_01(day: date, code: str) -> None:
    s = suggest(esk(84, day=day), DRUG_PAYER)
    assert s.codes == (code,)
    assert s.lines[0].units == 84


def test_payer_switching_late_keeps_s0013_until_then_but_never_before_j0013_exists() -> None:
    late = PayerPolicy(uses_g_codes=False, bills_drug_separately=True,
                       drug_code_switch=date(2026, 3, 1))  # fmt: skip
    assert suggest(esk(56, day=date(2026, 2, 1)), late).codes == ("J0013",)  # S0013 ended
    early = PayerPolicy(uses_g_codes=False, bills_drug_separately=True,
                        drug_code_switch=date(2025, 6, 1))  # fmt: skip
    assert suggest(esk(56, day=date(2025, 7, 1)), early).codes == ("S0013",)  # J0013 not yet


def test_g_code_and_drug() -> None:
    payer = PayerPolicy(bills_drug_separately=True, modifiers={"J0013": ("JZ",)})
    s = suggest(esk(56, day=date(2026, 1, 1)), payer)
    assert s.codes == ("G2082", "J0013")
    assert s.lines[1].modifiers == ("JZ",)


def test_em_bundled_or_separate() -> None:
    bundled = suggest(esk(56, em_code="99213"))
    assert bundled.codes == ("G2082",)
    assert "BILL-EM-BUNDLED" in {n.rule_id for n in bundled.notes}
    separate = suggest(esk(56, em_code="99213"), PayerPolicy(bundles_em=False))
    assert separate.codes == ("G2082", "99213")
    assert separate.lines[1].modifiers == ("25",)


def test_short_observation_is_flagged() -> None:
    facts = esk(56)
    assert facts.dose_start is not None
    short = replace(facts, monitoring_end=facts.dose_start + timedelta(minutes=90))
    ids = {r.rule_id for r in suggest(short).lines[0].reasons}
    assert "BILL-ESK-OBSERVATION" in ids
    assert "BILL-ESK-OBSERVATION" not in {r.rule_id for r in suggest(facts).lines[0].reasons}


def test_place_of_service_configurable() -> None:
    assert suggest(esk(56), PayerPolicy(place_of_service="22")).lines[0].place_of_service == "22"


def test_unsigned_and_missing_dose() -> None:
    unsigned = SessionFacts(DAY, "esketamine", False, 56)
    assert suggest(unsigned).notes[0].rule_id == "BILL-UNSIGNED"
    assert suggest(SessionFacts(DAY, "esketamine", True, None)).notes[0].rule_id == "BILL-NO-DOSE"


@pytest.mark.parametrize("dose", [0, -1, 1000.5])
def test_impossible_dose(dose: float) -> None:
    with pytest.raises(ValueError, match="dose_mg"):
        suggest(SessionFacts(DAY, "esketamine", True, dose))


@pytest.mark.parametrize(
    ("minutes", "units"),
    [(15, (0, 0)), (16, (1, 0)), (40, (1, 0)), (90, (1, 0)), (91, (1, 1)), (150, (1, 1)),
     (151, (1, 2))],
)  # fmt: skip
def test_infusion_hours(minutes: int, units: tuple[int, int]) -> None:
    assert infusion_hours(minutes, BillingConfig()) == units


def test_iv_ketamine_lines() -> None:
    facts = SessionFacts(
        DAY, "iv", True, 35.2, dose_start=START, dose_end=START + timedelta(minutes=40)
    )
    s = suggest(facts)
    assert s.codes == ("96365", "J3490")
    assert s.lines[1].units == 36
    ten = suggest(facts, config=BillingConfig(ketamine_mg_per_unit=10))
    assert ten.lines[1].units == 4


def test_iv_without_times_still_bills_drug() -> None:
    s = suggest(SessionFacts(DAY, "iv", True, 50))
    assert s.codes == ("J3490",)
    assert s.notes[0].rule_id == "BILL-IV-TIMES"


def test_every_code_row_has_a_source_and_sane_dates() -> None:
    for row in CODE_TABLE:
        assert row.source
        assert row.effective_to is None or row.effective_to >= row.effective_from
    assert code_rule("J0013", date(2025, 12, 31)) is None
    assert code_rule("S0013", date(2026, 1, 1)) is None


@given(
    dose=st.floats(min_value=0.5, max_value=1000),
    day=st.dates(min_value=date(2020, 1, 1), max_value=date(2035, 12, 31)),
    established=st.booleans(),
    drug=st.booleans(),
)
def test_properties(dose: float, day: date, established: bool, drug: bool) -> None:
    payer = PayerPolicy(bills_drug_separately=drug)
    s = suggest(esk(dose, day=day, prior=(), established=established), payer)
    g = [c for c in s.codes if c.startswith("G208")]
    # At most one G-code, only for established patients, chosen by the dose alone.
    assert len(g) == (1 if established else 0)
    if g:
        assert g[0] == ("G2083" if dose > 56 else "G2082")
    # Never both drug codes; the one billed is the one valid that day.
    drugs = [line for line in s.lines if line.code in ("J0013", "S0013")]
    assert len(drugs) == (1 if drug else 0)
    for line in drugs:
        assert line.code == ("J0013" if day >= date(2026, 1, 1) else "S0013")
        assert line.units >= dose and line.units - dose < 1
    for line in s.lines:
        assert line.reasons and line.units >= 1
        assert code_rule(line.code, day) is not None


@given(minutes=st.integers(min_value=0, max_value=24 * 60))
def test_infusion_units_cover_the_time(minutes: int) -> None:
    first, extra = infusion_hours(minutes, BillingConfig())
    billed = 60 * (first + extra)
    if first:
        # Billed hours cover the infusion to within 30 minutes, never more than 30 over.
        assert minutes - 30 <= billed < minutes + 30 or (billed == 60 and minutes <= 90)
