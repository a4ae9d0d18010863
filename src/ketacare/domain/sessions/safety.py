"""Safety rules of a treatment session: pre-dose checklist, blood-pressure rules, vitals flags
and vitals due times (ketacare clinical reference §5, docs/sessions.md).

Pure: no I/O and no clock. Every rule returns :class:`Reason` objects (rule id, text, source)
so pages and the API can say exactly which condition is unmet. Thresholds marked [U] in the
reference are ketacare defaults that a clinic may change through :class:`SafetyConfig`.

Examples
--------
>>> bp_decision_needed("esketamine", 140, 90) is None
True
>>> bp_decision_needed("esketamine", 141, 90).rule_id
'predose.bp_above_label'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

Route = Literal["iv", "im", "esketamine"]
ROUTES: tuple[str, ...] = ("iv", "im", "esketamine")

LABEL = "SPRAVATO US prescribing information §2.1/§5.6 (clinical reference §5.2) [V]"
LABEL_DATA = (
    "SPRAVATO label data: rises of ≥40 systolic / ≥25 diastolic (clinical reference §5.2) [V]"
)
REMS = "SPRAVATO REMS, FDA REMS page 12/31/2024 (clinical reference §5.2) [V]"
LABEL_FASTING = "SPRAVATO label: no food ≥2 h, no liquids ≥30 min before dosing (§5.2) [V]"
EMORY = "Emory IV series: BP every 10 min during, every 15 min after infusion (§5.1) [V]"
CLINIC = "ketacare default, configurable per clinic [U]"

RR_GUIDANCE = (
    "Assess for respiratory depression (boxed warning): airway, breathing, SpO2; stimulate, "
    "support breathing and call for help as needed."
)
HIGH_BP_GUIDANCE = (
    "If BP stays high, get prompt help from practitioners experienced in BP management. "
    "Chest pain, shortness of breath, sudden severe headache, visual disturbance, seizures, "
    "reduced consciousness or focal neurological deficits: immediate emergency referral."
)


@dataclass(frozen=True, slots=True)
class Reason:
    """One rule's finding: stable id, plain text, where it comes from, and optional detail."""

    rule_id: str
    text: str
    source: str
    detail: str = ""

    def to_dict(self) -> dict[str, str]:
        """JSON-ready."""
        return {
            "rule_id": self.rule_id,
            "text": self.text,
            "source": self.source,
            "detail": self.detail,
        }


@dataclass(frozen=True, slots=True)
class SafetyConfig:
    """Clinic configuration. Defaults follow the reference; [U] values are ketacare choices."""

    esk_bp_systolic: int = 140  # label "e.g. >140/90" [V]
    esk_bp_diastolic: int = 90
    iv_bp_systolic: int | None = 140  # [U] clinic configuration; None: no decision needed
    iv_bp_diastolic: int | None = 90  # [U]
    flag_systolic: int = 180  # [U] flag at or above
    flag_diastolic: int = 110  # [U]
    rise_systolic: int = 40  # label data [V]
    rise_diastolic: int = 25  # label data [V]
    spo2_min: int = 92  # [U] flag below
    esk_food_min: int = 120  # label [V]
    esk_liquid_min: int = 30  # label [V]
    iv_food_min: int | None = None  # [U] clinic policy; None: not checked
    iv_liquid_min: int | None = None  # [U]
    iv_every_during_min: int = 10  # Emory series [V]
    iv_every_after_min: int = 15  # Emory series [V]
    iv_after_for_min: int = 60  # [U] how long the 15-min reminders run after the infusion
    esk_recheck_min: int = 40  # label "about 40 min" [V]
    esk_recheck_window_min: int = (
        10  # [U] reminder and REMS "BP at ~40 min" take a reading this close
    )
    rr_min: int = 10  # [U] flag a respiratory rate below
    rr_max: int = 24  # [U] flag a respiratory rate above
    due_tolerance_min: int = 5  # [U] a reading this close to a due time satisfies it
    esk_monitor_min: int = 120  # REMS "at least 2 hours" [V]
    iv_discharge_after_end_min: int = 30  # [U]
    iv_discharge_moaas: int = 5  # [U] issue default: MOAA/S 5
    iv_near_baseline_systolic: int = 20  # [U] mmHg above baseline still "near"
    iv_near_baseline_diastolic: int = 10  # [U]
    iv_discharge_needs_clinician: bool = True  # [U]
    cadss_resolved_margin: int = 0  # [U] post-dose total may exceed pre-dose by this much


DEFAULT_SAFETY = SafetyConfig()


@dataclass(frozen=True, slots=True)
class Vitals:
    """One reading; any value may be missing."""

    at: datetime
    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    spo2: int | None = None
    resp_rate: int | None = None


def bp_decision_needed(
    route: str, systolic: int | None, diastolic: int | None, config: SafetyConfig = DEFAULT_SAFETY
) -> Reason | None:
    """The reason a clinician must decide (proceed/defer) before dosing, or None.

    Esketamine: a reading above 140 systolic or above 90 diastolic (label "e.g. >140/90");
    140/90 itself needs no decision. IV and IM: the clinic's thresholds (same defaults, [U]).
    """
    if systolic is None or diastolic is None:
        return None
    sys_max: int | None
    dia_max: int | None
    if route == "esketamine":
        sys_max, dia_max, source = config.esk_bp_systolic, config.esk_bp_diastolic, LABEL
    else:
        sys_max, dia_max, source = config.iv_bp_systolic, config.iv_bp_diastolic, CLINIC
    over = (sys_max is not None and systolic > sys_max) or (
        dia_max is not None and diastolic > dia_max
    )
    if not over:
        return None
    return Reason(
        "predose.bp_above_label" if route == "esketamine" else "predose.bp_above_clinic",
        f"Pre-dose BP {systolic}/{diastolic} is above {sys_max}/{dia_max}: a clinician must "
        "decide to proceed or defer, with a reason (weigh a short-term BP rise against benefit).",
        source,
    )


@dataclass(frozen=True, slots=True)
class PreDose:
    """What the nurse records before the dose (times are compared with ``now``)."""

    route: str
    systolic: int | None = None
    diastolic: int | None = None
    heart_rate: int | None = None
    spo2: int | None = None
    last_food_at: datetime | None = None
    last_liquid_at: datetime | None = None
    pregnancy_test_applies: bool = False
    pregnancy_test: str = ""  # negative | positive | not_done
    transport_arranged: bool = False
    assessments_reviewed: bool = False
    rems_enrolled: bool | None = None  # esketamine only
    bp_decision: str = ""  # proceed | defer
    bp_decision_reason: str = ""
    bp_decision_by_clinician: bool = False
    open_alerts: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class PreDoseResult:
    """``complete`` when nothing is unmet; warnings never block."""

    complete: bool
    unmet: tuple[Reason, ...]
    warnings: tuple[Reason, ...]
    bp_decision_needed: Reason | None


def _fasting(
    label: str, last: datetime | None, minimum: int | None, now: datetime, source: str
) -> Reason | None:
    if minimum is None:
        return None
    rid = f"predose.fasting_{label}"
    if last is None:
        return Reason(rid, f"Record when the patient last had {label}.", source)
    if now - last < timedelta(minutes=minimum):
        gap = int((now - last).total_seconds() // 60)
        return Reason(
            rid,
            f"No {label} for at least {minimum} min before dosing.",
            source,
            f"{gap} min so far",
        )
    return None


def check_predose(
    p: PreDose, now: datetime, config: SafetyConfig = DEFAULT_SAFETY
) -> PreDoseResult:
    """Is the pre-dose checklist complete? Returns every unmet item with its reason."""
    unmet: list[Reason] = []
    warnings: list[Reason] = []
    for name, value in (
        ("systolic", p.systolic),
        ("diastolic", p.diastolic),
        ("heart_rate", p.heart_rate),
        ("spo2", p.spo2),
    ):
        if value is None:
            unmet.append(
                Reason(f"predose.{name}", f"Record the pre-dose {name.replace('_', ' ')}.", LABEL)
            )
    decision = bp_decision_needed(p.route, p.systolic, p.diastolic, config)
    if decision is not None:
        if p.bp_decision not in ("proceed", "defer") or not p.bp_decision_reason.strip():
            unmet.append(decision)
        elif not p.bp_decision_by_clinician:
            unmet.append(Reason(decision.rule_id, "The BP decision must be a clinician's.", LABEL))
        elif p.bp_decision == "defer":
            unmet.append(
                Reason(
                    "predose.deferred",
                    "A clinician deferred the dose.",
                    decision.source,
                    p.bp_decision_reason.strip(),
                )
            )
    esk = p.route == "esketamine"
    food = config.esk_food_min if esk else config.iv_food_min
    liquid = config.esk_liquid_min if esk else config.iv_liquid_min
    src = LABEL_FASTING if esk else CLINIC
    for r in (
        _fasting("food", p.last_food_at, food, now, src),
        _fasting("liquids", p.last_liquid_at, liquid, now, src),
    ):
        if r is not None:
            unmet.append(r)
    if p.pregnancy_test_applies:
        if p.pregnancy_test not in ("negative", "positive"):
            unmet.append(
                Reason("predose.pregnancy_test", "Record the pregnancy test result.", CLINIC)
            )
        elif p.pregnancy_test == "positive":
            unmet.append(
                Reason(
                    "predose.pregnancy_positive",
                    "Positive pregnancy test: do not dose without a clinician's review.",
                    "Common IV-clinic exclusion (§5.1) [V]",
                )
            )
    if not p.transport_arranged:
        unmet.append(
            Reason(
                "predose.transport",
                "Confirm a ride home is arranged (no driving until the "
                "next day after restful sleep).",
                REMS,
            )
        )
    if not p.assessments_reviewed:
        unmet.append(
            Reason(
                "predose.assessments",
                "Review today's PHQ-9/C-SSRS results and open alerts.",
                CLINIC,
            )
        )
    for alert in p.open_alerts:
        warnings.append(Reason("predose.open_alert", "Open assessment alert.", CLINIC, alert))
    if esk and p.rems_enrolled is not True:
        unmet.append(
            Reason(
                "predose.rems_enrolled", "The patient must be enrolled in the SPRAVATO REMS.", REMS
            )
        )
    return PreDoseResult(not unmet, tuple(unmet), tuple(warnings), decision)


def vitals_flags(
    reading: Vitals, baseline: Vitals | None, config: SafetyConfig = DEFAULT_SAFETY
) -> list[Reason]:
    """Flags for one reading, each with guidance: SBP ≥180 or DBP ≥110, a rise of ≥40 systolic
    or ≥25 diastolic from the pre-dose reading, SpO2 <92 % (all configurable)."""
    out: list[Reason] = []
    s, d = reading.systolic, reading.diastolic
    if s is not None and s >= config.flag_systolic:
        out.append(
            Reason(
                "vitals.sbp_high",
                f"Systolic {s} ≥ {config.flag_systolic}.",
                CLINIC + "; guidance: " + LABEL,
            )
        )
    if d is not None and d >= config.flag_diastolic:
        out.append(
            Reason(
                "vitals.dbp_high",
                f"Diastolic {d} ≥ {config.flag_diastolic}.",
                CLINIC + "; guidance: " + LABEL,
            )
        )
    if baseline is not None:
        if s is not None and baseline.systolic is not None:
            rise = s - baseline.systolic
            if rise >= config.rise_systolic:
                out.append(
                    Reason(
                        "vitals.sbp_rise",
                        f"Systolic rose {rise} mmHg from pre-dose "
                        f"(≥ {config.rise_systolic}). Keep monitoring until BP falls.",
                        LABEL_DATA,
                    )
                )
        if d is not None and baseline.diastolic is not None:
            rise = d - baseline.diastolic
            if rise >= config.rise_diastolic:
                out.append(
                    Reason(
                        "vitals.dbp_rise",
                        f"Diastolic rose {rise} mmHg from pre-dose "
                        f"(≥ {config.rise_diastolic}). Keep monitoring until BP falls.",
                        LABEL_DATA,
                    )
                )
    if reading.spo2 is not None and reading.spo2 < config.spo2_min:
        out.append(
            Reason(
                "vitals.spo2_low",
                f"SpO2 {reading.spo2}% < {config.spo2_min}%: assess "
                "for respiratory depression (label boxed warning); support breathing "
                "and call for help as needed.",
                CLINIC + "; guidance: " + REMS,
            )
        )
    rr = reading.resp_rate
    if rr is not None and rr < config.rr_min:
        out.append(
            Reason(
                "vitals.rr_low",
                f"Respiratory rate {rr}/min < {config.rr_min}/min.",
                CLINIC + "; guidance: " + REMS,
            )
        )
    if rr is not None and rr > config.rr_max:
        out.append(
            Reason(
                "vitals.rr_high",
                f"Respiratory rate {rr}/min > {config.rr_max}/min.",
                CLINIC,
            )
        )
    return out


_GUIDANCE = {
    "vitals.sbp_high": HIGH_BP_GUIDANCE,
    "vitals.dbp_high": HIGH_BP_GUIDANCE,
    "vitals.sbp_rise": HIGH_BP_GUIDANCE,
    "vitals.dbp_rise": HIGH_BP_GUIDANCE,
    "vitals.rr_low": RR_GUIDANCE,
}


def flag_guidance(flags: Sequence[Reason]) -> list[str]:
    """The guidance paragraphs of a reading's flags, each once, in flag order.

    >>> t = datetime(2025, 1, 1)
    >>> r = vitals_flags(Vitals(t, 190, 115), Vitals(t, 120, 70))
    >>> len(r), flag_guidance(r) == [HIGH_BP_GUIDANCE]
    (4, True)
    """
    out: list[str] = []
    for f in flags:
        text = _GUIDANCE.get(f.rule_id)
        if text is not None and text not in out:
            out.append(text)
    return out


def bp_implausible(systolic: int | None, diastolic: int | None) -> Reason | None:
    """A diastolic value at or above the systolic one is a mistyped or swapped reading."""
    if systolic is None or diastolic is None or diastolic < systolic:
        return None
    return Reason(
        "vitals.bp_implausible",
        f"must be below systolic ({diastolic} ≥ {systolic}); check the reading (swapped?)",
        "Physiology: diastolic pressure is below systolic [V]",
    )


@dataclass(frozen=True, slots=True)
class Due:
    """A vitals reminder: when, what, and its state at ``now``."""

    at: datetime
    label: str
    status: str  # done | due | overdue | upcoming
    source: str


def _status(at: datetime, readings: Sequence[datetime], now: datetime, tol: timedelta) -> str:
    if any(abs(r - at) <= tol for r in readings):
        return "done"
    if now > at + tol:
        return "overdue"
    if now >= at - tol:
        return "due"
    return "upcoming"


def vitals_due(
    route: str,
    dose_start: datetime | None,
    dose_end: datetime | None,
    readings: Sequence[datetime],
    now: datetime,
    config: SafetyConfig = DEFAULT_SAFETY,
) -> list[Due]:
    """Reminders from the protocol. IV/IM: every 10 min during the infusion, every 15 min after
    it for ``iv_after_for_min``. Esketamine: about 40 min after the first device, then as
    clinically warranted (no fixed reminder)."""
    if dose_start is None:
        return []
    tol = timedelta(minutes=config.due_tolerance_min)
    times: list[tuple[datetime, str, str]] = []
    if route == "esketamine":
        tol = timedelta(minutes=config.esk_recheck_window_min)
        times.append(
            (
                dose_start + timedelta(minutes=config.esk_recheck_min),
                f"BP about {config.esk_recheck_min} min after the dose "
                f"(± {config.esk_recheck_window_min} min)",
                LABEL,
            )
        )
    else:
        end = dose_end or dose_start
        step = timedelta(minutes=config.iv_every_during_min)
        t = dose_start + step
        while t < end:
            times.append((t, "During infusion", EMORY))
            t += step
        times.append((end, "End of infusion", EMORY))
        step = timedelta(minutes=config.iv_every_after_min)
        t = end + step
        while t <= end + timedelta(minutes=config.iv_after_for_min):
            times.append((t, "After infusion", EMORY))
            t += step
    return [Due(at, label, _status(at, readings, now, tol), src) for at, label, src in times]
