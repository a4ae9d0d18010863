"""The pure session rules at their edges, with time passed in (no clock, no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from ketacare.domain.sessions import rems
from ketacare.domain.sessions.discharge import DischargeFacts, ScaleAt, check_discharge
from ketacare.domain.sessions.safety import (
    HIGH_BP_GUIDANCE,
    PreDose,
    SafetyConfig,
    Vitals,
    bp_decision_needed,
    bp_implausible,
    check_predose,
    flag_guidance,
    vitals_due,
    vitals_flags,
)

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def at(**delta: float) -> datetime:
    return T0 + timedelta(**delta)


def ids(reasons: object) -> list[str]:
    return [r.rule_id for r in reasons]  # type: ignore[attr-defined]


def test_esketamine_bp_140_90_needs_no_decision_but_one_above_does() -> None:
    assert bp_decision_needed("esketamine", 140, 90) is None
    assert bp_decision_needed("esketamine", 141, 90) is not None
    assert bp_decision_needed("esketamine", 140, 91) is not None
    r = bp_decision_needed("esketamine", 150, 95)
    assert (
        r is not None
        and r.rule_id == "predose.bp_above_label"
        and "prescribing information" in r.source
    )


def test_iv_bp_thresholds_are_clinic_configuration() -> None:
    assert bp_decision_needed("iv", 150, 80) is not None  # default 140/90 [U]
    cfg = SafetyConfig(iv_bp_systolic=160, iv_bp_diastolic=100)
    assert bp_decision_needed("iv", 160, 100, cfg) is None
    assert bp_decision_needed("iv", 161, 100, cfg) is not None
    off = SafetyConfig(iv_bp_systolic=None, iv_bp_diastolic=None)
    assert bp_decision_needed("iv", 220, 130, off) is None


def complete(**changes: object) -> PreDose:
    base: dict[str, object] = {
        "route": "esketamine",
        "systolic": 130,
        "diastolic": 80,
        "heart_rate": 70,
        "spo2": 98,
        "last_food_at": at(hours=-2),
        "last_liquid_at": at(minutes=-30),
        "transport_arranged": True,
        "assessments_reviewed": True,
        "rems_enrolled": True,
    }
    base.update(changes)
    return PreDose(**base)  # type: ignore[arg-type]


def test_predose_complete_at_the_fasting_edges() -> None:
    assert check_predose(complete(), T0).complete
    late_food = check_predose(complete(last_food_at=at(hours=-2, seconds=1)), T0)
    assert ids(late_food.unmet) == ["predose.fasting_food"]
    late_drink = check_predose(complete(last_liquid_at=at(minutes=-29, seconds=-59)), T0)
    assert ids(late_drink.unmet) == ["predose.fasting_liquids"]


def test_predose_lists_every_missing_item() -> None:
    r = check_predose(PreDose(route="esketamine", pregnancy_test_applies=True), T0)
    assert ids(r.unmet) == [
        "predose.systolic",
        "predose.diastolic",
        "predose.heart_rate",
        "predose.spo2",
        "predose.fasting_food",
        "predose.fasting_liquids",
        "predose.pregnancy_test",
        "predose.transport",
        "predose.assessments",
        "predose.rems_enrolled",
    ]
    assert all(x.source for x in r.unmet)
    iv = check_predose(
        PreDose(
            route="iv",
            systolic=120,
            diastolic=80,
            heart_rate=60,
            spo2=99,
            transport_arranged=True,
            assessments_reviewed=True,
        ),
        T0,
    )
    assert iv.complete  # IV fasting is off unless the clinic sets it


def test_raised_bp_needs_a_clinicians_proceed_with_reason() -> None:
    raised = complete(systolic=141)
    assert ids(check_predose(raised, T0).unmet) == ["predose.bp_above_label"]
    nurse = complete(systolic=141, bp_decision="proceed", bp_decision_reason="stable")
    assert "clinician" in check_predose(nurse, T0).unmet[0].text
    ok = complete(
        systolic=141,
        bp_decision="proceed",
        bp_decision_reason="stable",
        bp_decision_by_clinician=True,
    )
    assert check_predose(ok, T0).complete
    deferred = complete(
        systolic=141,
        bp_decision="defer",
        bp_decision_reason="recheck",
        bp_decision_by_clinician=True,
    )
    assert ids(check_predose(deferred, T0).unmet) == ["predose.deferred"]
    alerts = check_predose(complete(open_alerts=("high: C-SSRS",)), T0)
    assert alerts.complete and ids(alerts.warnings) == ["predose.open_alert"]


BASE = Vitals(T0, 120, 80, 70, 98)


def test_vitals_flags_at_their_edges() -> None:
    assert vitals_flags(Vitals(T0, 179, 109, spo2=92), None) == []
    assert ids(vitals_flags(Vitals(T0, 180, 110, spo2=91), None)) == [
        "vitals.sbp_high",
        "vitals.dbp_high",
        "vitals.spo2_low",
    ]
    assert vitals_flags(Vitals(T0, 159, 104), BASE) == []
    assert ids(vitals_flags(Vitals(T0, 160, 105), BASE)) == ["vitals.sbp_rise", "vitals.dbp_rise"]
    flag = vitals_flags(Vitals(T0, 185, 80), BASE)
    assert all(f.source for f in flag) and "emergency" in flag_guidance(flag)[0]
    cfg = SafetyConfig(rise_systolic=30, spo2_min=94)
    assert ids(vitals_flags(Vitals(T0, 150, 80, spo2=93), BASE, cfg)) == [
        "vitals.sbp_rise",
        "vitals.spo2_low",
    ]


@given(st.integers(60, 250), st.integers(60, 250))
def test_systolic_rise_flag_iff_at_least_40(base: int, now: int) -> None:
    flags = ids(vitals_flags(Vitals(T0, now, 80), Vitals(T0, base, 80)))
    assert ("vitals.sbp_rise" in flags) == (now - base >= 40)
    assert ("vitals.sbp_high" in flags) == (now >= 180)


def test_vitals_due_times_from_the_protocol() -> None:
    esk = vitals_due("esketamine", T0, T0, [], at(minutes=36))
    assert [(d.at, d.status) for d in esk] == [(at(minutes=40), "due")]
    assert vitals_due("esketamine", T0, T0, [at(minutes=41)], at(minutes=50))[0].status == "done"
    # one window (esk_recheck_window_min [U], default 10) for the reminder and the REMS field
    assert vitals_due("esketamine", T0, T0, [], at(minutes=50))[0].status == "due"
    assert vitals_due("esketamine", T0, T0, [], at(minutes=51))[0].status == "overdue"
    narrow = SafetyConfig(esk_recheck_window_min=5)
    assert vitals_due("esketamine", T0, T0, [], at(minutes=46), narrow)[0].status == "overdue"
    iv = vitals_due("iv", T0, at(minutes=40), [], T0)
    minutes = [int((d.at - T0).total_seconds() // 60) for d in iv]
    assert minutes == [10, 20, 30, 40, 55, 70, 85, 100]
    assert {d.status for d in iv} == {"upcoming"}


def esk_facts(**changes: object) -> DischargeFacts:
    last = at(minutes=5)
    base: dict[str, object] = {
        "route": "esketamine",
        "dose_start": T0,
        "last_device_at": last,
        "baseline": BASE,
        "readings": (
            Vitals(at(minutes=45), 150, 90, spo2=97),
            Vitals(at(minutes=110), 130, 82, spo2=98),
        ),
        "moaas_pre": 5,
        "moaas": (ScaleAt(at(minutes=100), 5),),
        "cadss_pre": 0,
        "cadss": (ScaleAt(at(minutes=100), 0),),
        "clinician_approved_at": at(minutes=115),
    }
    base.update(changes)
    return DischargeFacts(**base)  # type: ignore[arg-type]


def test_esketamine_discharge_two_hours_to_the_second() -> None:
    early = check_discharge(esk_facts(), at(minutes=124, seconds=59))
    assert not early.allowed and ids(early.unmet) == ["discharge.esk.min_time"]
    assert early.unmet[0].detail == "0 min 1 s left"
    on_time = check_discharge(esk_facts(), at(minutes=125))
    assert on_time.allowed and on_time.unmet == ()
    assert len(on_time.met) == 6


def test_esketamine_discharge_names_each_unmet_condition() -> None:
    now = at(hours=3)
    cases: dict[str, dict[str, object]] = {
        "discharge.sedation": {"moaas": (ScaleAt(at(minutes=100), 4),)},
        "discharge.dissociation": {"cadss": (ScaleAt(at(minutes=100), 3),)},
        "discharge.respiration": {"readings": (Vitals(at(minutes=110), 118, 78, spo2=91),)},
        "discharge.clinician": {"clinician_approved_at": None},
    }
    for rule, change in cases.items():
        assert ids(check_discharge(esk_facts(**change), now).unmet) == [rule], rule
    rising = (Vitals(at(minutes=45), 130, 82, spo2=97), Vitals(at(minutes=110), 135, 84, spo2=98))
    assert ids(check_discharge(esk_facts(readings=rising), now).unmet) == ["discharge.bp"]
    back = (Vitals(at(minutes=110), 120, 80, spo2=98),)  # one reading, at baseline
    assert check_discharge(esk_facts(readings=back), now).allowed
    high = (Vitals(at(minutes=45), 190, 100, spo2=97), Vitals(at(minutes=110), 182, 95, spo2=98))
    assert ids(check_discharge(esk_facts(readings=high), now).unmet) == ["discharge.bp"]
    nothing = check_discharge(DischargeFacts("esketamine"), now)
    assert ids(nothing.unmet) == ["discharge.dose"]


def test_iv_discharge_uses_configurable_criteria() -> None:
    end = at(minutes=40)
    facts = DischargeFacts(
        "iv",
        T0,
        None,
        end,
        BASE,
        (Vitals(at(minutes=65), 139, 89, spo2=97),),
        moaas=(ScaleAt(at(minutes=65), 5),),
        clinician_approved_at=at(minutes=66),
    )
    assert ids(check_discharge(facts, at(minutes=69, seconds=59)).unmet) == [
        "discharge.iv.min_time"
    ]
    assert check_discharge(facts, at(minutes=70)).allowed
    strict = SafetyConfig(iv_near_baseline_systolic=10, iv_discharge_after_end_min=60)
    assert ids(check_discharge(facts, at(minutes=70), strict).unmet) == [
        "discharge.iv.min_time",
        "discharge.iv.vitals",
    ]
    lax = SafetyConfig(iv_discharge_needs_clinician=False, iv_discharge_moaas=4)
    sleepy = DischargeFacts(
        "iv", T0, None, end, BASE, facts.readings, moaas=(ScaleAt(at(minutes=65), 4),)
    )
    assert check_discharge(sleepy, at(minutes=70), lax).allowed


def test_rems_fields_completeness_and_deadline() -> None:
    assert rems.deadline(date(2025, 3, 3)) == date(2025, 3, 10)
    assert rems.deadline(date(2025, 3, 3), 10) == date(2025, 3, 13)
    assert rems.status(date(2025, 3, 10), None, date(2025, 3, 10)) == "due"
    assert rems.status(date(2025, 3, 10), None, date(2025, 3, 11)) == "overdue"
    assert rems.status(date(2025, 3, 10), T0, date(2025, 4, 1)) == "submitted"
    missing = ids(rems.missing({}))
    assert "rems.lot_number" in missing and "rems.ready_to_leave_min" in missing
    assert "rems.adverse_event_details" not in missing  # optional unless events are reported
    full: dict[str, object] = {f.id: "yes" if f.kind == "yes_no" else "x" for f in rems.PMF_FIELDS}
    full.update(
        patient_birth_date="1980-01-01",
        treatment_date="2025-03-03",
        duration_min=125,
        ready_to_leave_min="90",
    )
    assert rems.missing(full) == []
    assert ids(rems.missing({**full, "duration_min": 119})) == ["rems.duration_min"]
    assert ids(rems.missing({**full, "conmed_maois": "maybe"})) == ["rems.conmed_maois"]
    assert ids(rems.missing({**full, "first_treatment": "no", "enrolled": ""})) == []


def test_one_flagged_reading_gives_its_guidance_once() -> None:
    flags = vitals_flags(Vitals(T0, 190, 120), BASE)
    assert len(flags) == 4
    assert sum(HIGH_BP_GUIDANCE in f.text for f in flags) == 0
    assert flag_guidance(flags) == [HIGH_BP_GUIDANCE]


def test_respiratory_rate_flags_are_configurable() -> None:
    assert vitals_flags(Vitals(T0, resp_rate=10), None) == []
    assert vitals_flags(Vitals(T0, resp_rate=24), None) == []
    low = vitals_flags(Vitals(T0, resp_rate=9), None)
    assert ids(low) == ["vitals.rr_low"] and "[U]" in low[0].source
    assert "respiratory depression" in flag_guidance(low)[0]
    assert ids(vitals_flags(Vitals(T0, resp_rate=25), None)) == ["vitals.rr_high"]
    cfg = SafetyConfig(rr_min=12, rr_max=20)
    assert ids(vitals_flags(Vitals(T0, resp_rate=11), None, cfg)) == ["vitals.rr_low"]
    assert ids(vitals_flags(Vitals(T0, resp_rate=21), None, cfg)) == ["vitals.rr_high"]


def test_diastolic_at_or_above_systolic_is_implausible() -> None:
    assert bp_implausible(120, 80) is None and bp_implausible(None, 80) is None
    r = bp_implausible(80, 120)
    assert r is not None and r.rule_id == "vitals.bp_implausible" and r.source
    assert bp_implausible(100, 100) is not None
