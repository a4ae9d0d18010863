"""Discharge gate of a treatment session (clinical reference §5.2, §2.8-2.9; docs/sessions.md).

Pure; ``now`` is passed in. :func:`check_discharge` returns every unmet condition with its rule
id, text and source, and the met ones, so the page and the API can say exactly what is left.

Esketamine (REMS): at least 2 h since the last device, sedation and dissociation resolved,
respiration normal, BP falling or back to baseline, and a clinician's sign-off. IV and IM:
configurable criteria (time since the end of administration, MOAA/S, vitals near baseline).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ketacare.domain.sessions.safety import (
    CLINIC,
    DEFAULT_SAFETY,
    LABEL,
    REMS,
    Reason,
    SafetyConfig,
    Vitals,
    vitals_flags,
)

MOAAS_SOURCE = "MOAA/S: label counts any fall from pre-dose as sedation (§2.9) [V]"
CADSS_SOURCE = "CADSS back to its pre-dose total (ketacare rule, §2.8) [U]"


@dataclass(frozen=True, slots=True)
class ScaleAt:
    """A CADSS total or MOAA/S level, and when it was rated."""

    at: datetime
    value: int


@dataclass(frozen=True, slots=True)
class DischargeFacts:
    """What the gate needs from the session record."""

    route: str
    dose_start: datetime | None = None
    last_device_at: datetime | None = None  # esketamine: the last nasal device
    dose_end: datetime | None = None  # IV/IM: end of infusion or injection
    baseline: Vitals | None = None  # the pre-dose reading
    readings: Sequence[Vitals] = field(default_factory=tuple)  # post-dose readings
    moaas_pre: int | None = None
    moaas: Sequence[ScaleAt] = field(default_factory=tuple)  # post-dose
    cadss_pre: int | None = None
    cadss: Sequence[ScaleAt] = field(default_factory=tuple)  # post-dose
    clinician_approved_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DischargeResult:
    """``allowed`` only when ``unmet`` is empty."""

    allowed: bool
    unmet: tuple[Reason, ...]
    met: tuple[Reason, ...]


def _latest(xs: Sequence[ScaleAt], after: datetime) -> ScaleAt | None:
    later = [x for x in xs if x.at >= after]
    return max(later, key=lambda x: x.at) if later else None


def _left(remaining: timedelta) -> str:
    secs = int(remaining.total_seconds())
    return f"{secs // 60} min {secs % 60} s left"


def _time_rule(
    rid: str, text: str, source: str, since: datetime | None, minutes: int, now: datetime
) -> tuple[bool, Reason]:
    if since is None:
        return False, Reason(rid, text, source, "the dose time is not recorded")
    remaining = since + timedelta(minutes=minutes) - now
    if remaining > timedelta(0):
        return False, Reason(rid, text, source, _left(remaining))
    return True, Reason(rid, text, source)


def _sedation(f: DischargeFacts, after: datetime, need: int | None) -> tuple[bool, Reason]:
    target = need if need is not None else (f.moaas_pre if f.moaas_pre is not None else 5)
    text = f"Sedation resolved: a MOAA/S after the dose of at least {target}."
    last = _latest(f.moaas, after)
    if last is None:
        return False, Reason("discharge.sedation", text, MOAAS_SOURCE, "no MOAA/S after the dose")
    if last.value < target:
        return False, Reason(
            "discharge.sedation", text, MOAAS_SOURCE, f"latest MOAA/S {last.value}"
        )
    return True, Reason("discharge.sedation", text, MOAAS_SOURCE)


def _dissociation(f: DischargeFacts, after: datetime, margin: int) -> tuple[bool, Reason]:
    target = (f.cadss_pre or 0) + margin
    text = f"Dissociation resolved: a CADSS after the dose with a total of at most {target}."
    last = _latest(f.cadss, after)
    if last is None:
        return False, Reason(
            "discharge.dissociation", text, CADSS_SOURCE, "no CADSS after the dose"
        )
    if last.value > target:
        return False, Reason(
            "discharge.dissociation", text, CADSS_SOURCE, f"latest total {last.value}"
        )
    return True, Reason("discharge.dissociation", text, CADSS_SOURCE)


def _post(f: DischargeFacts, after: datetime) -> list[Vitals]:
    return sorted((r for r in f.readings if r.at >= after), key=lambda r: r.at)


def _respiration(post: list[Vitals], config: SafetyConfig) -> tuple[bool, Reason]:
    text = f"Respiration normal: the latest SpO2 after the dose is at least {config.spo2_min}%."
    spo2 = [r for r in post if r.spo2 is not None]
    if not spo2:
        return False, Reason("discharge.respiration", text, REMS, "no SpO2 after the dose")
    last = spo2[-1].spo2
    assert last is not None
    if last < config.spo2_min:
        return False, Reason("discharge.respiration", text, REMS, f"latest SpO2 {last}%")
    return True, Reason("discharge.respiration", text, REMS)


def _bp_esketamine(
    f: DischargeFacts, post: list[Vitals], config: SafetyConfig
) -> tuple[bool, Reason]:
    text = (
        "BP falling or back to baseline: the latest reading is at or below the pre-dose "
        "reading, or lower than the reading before it, and not in the high range."
    )
    rid = "discharge.bp"
    bp = [r for r in post if r.systolic is not None and r.diastolic is not None]
    if not bp:
        return False, Reason(rid, text, LABEL, "no BP after the dose")
    last = bp[-1]
    assert last.systolic is not None and last.diastolic is not None
    high = [x for x in vitals_flags(last, None, config) if x.rule_id.endswith("_high")]
    if high:
        return False, Reason(rid, text, LABEL, f"latest {last.systolic}/{last.diastolic} is high")
    b = f.baseline
    at_base = (
        b is not None
        and b.systolic is not None
        and b.diastolic is not None
        and last.systolic <= b.systolic
        and last.diastolic <= b.diastolic
    )
    falling = False
    if len(bp) >= 2:
        prev = bp[-2]
        assert prev.systolic is not None and prev.diastolic is not None
        falling = last.systolic < prev.systolic and last.diastolic <= prev.diastolic
    if not (at_base or falling):
        return False, Reason(
            rid,
            text,
            LABEL,
            f"latest {last.systolic}/{last.diastolic} is neither falling nor at baseline",
        )
    return True, Reason(rid, text, LABEL)


def _bp_iv(f: DischargeFacts, post: list[Vitals], config: SafetyConfig) -> tuple[bool, Reason]:
    ds, dd = config.iv_near_baseline_systolic, config.iv_near_baseline_diastolic
    text = f"Vitals near baseline: latest BP within +{ds}/+{dd} mmHg of the pre-dose reading."
    rid = "discharge.iv.vitals"
    bp = [r for r in post if r.systolic is not None and r.diastolic is not None]
    b = f.baseline
    if not bp or b is None or b.systolic is None or b.diastolic is None:
        return False, Reason(rid, text, CLINIC, "no pre-dose or post-dose BP")
    last = bp[-1]
    assert last.systolic is not None and last.diastolic is not None
    if last.systolic - b.systolic > ds or last.diastolic - b.diastolic > dd:
        return False, Reason(rid, text, CLINIC, f"latest {last.systolic}/{last.diastolic}")
    return True, Reason(rid, text, CLINIC)


def _clinician(f: DischargeFacts, after: datetime, source: str) -> tuple[bool, Reason]:
    text = "A clinician has signed that the patient is clinically stable to leave."
    ok = f.clinician_approved_at is not None and f.clinician_approved_at >= after
    return ok, Reason("discharge.clinician", text, source, "" if ok else "not signed yet")


def check_discharge(
    facts: DischargeFacts, now: datetime, config: SafetyConfig = DEFAULT_SAFETY
) -> DischargeResult:
    """Every discharge condition for the session at ``now``.

    >>> from datetime import UTC
    >>> t = datetime(2025, 1, 1, 9, tzinfo=UTC)
    >>> r = check_discharge(DischargeFacts("esketamine", t, t), t)
    >>> [x.rule_id for x in r.unmet][:2]
    ['discharge.esk.min_time', 'discharge.sedation']
    """
    checks: list[tuple[bool, Reason]] = []
    if facts.dose_start is None:
        dose = Reason("discharge.dose", "Record the dose first.", CLINIC, "no dose recorded")
        return DischargeResult(False, (dose,), ())
    if facts.route == "esketamine":
        after = facts.last_device_at or facts.dose_start
        checks.append(
            _time_rule(
                "discharge.esk.min_time",
                f"At least {config.esk_monitor_min // 60} h of monitoring since the last device.",
                REMS,
                facts.last_device_at,
                config.esk_monitor_min,
                now,
            )
        )
        post = _post(facts, after)
        checks.append(_sedation(facts, after, None))
        checks.append(_dissociation(facts, after, config.cadss_resolved_margin))
        checks.append(_respiration(post, config))
        checks.append(_bp_esketamine(facts, post, config))
        checks.append(_clinician(facts, after, REMS))
    else:
        end = facts.dose_end or facts.dose_start
        after = facts.dose_start
        checks.append(
            _time_rule(
                "discharge.iv.min_time",
                f"At least {config.iv_discharge_after_end_min} min since the end of dosing.",
                CLINIC,
                facts.dose_end,
                config.iv_discharge_after_end_min,
                now,
            )
        )
        post = _post(facts, end)
        ok, r = _sedation(facts, end, config.iv_discharge_moaas)
        checks.append((ok, Reason("discharge.iv.moaas", r.text, CLINIC, r.detail)))
        checks.append(_respiration(post, config))
        checks.append(_bp_iv(facts, post, config))
        if config.iv_discharge_needs_clinician:
            checks.append(_clinician(facts, after, CLINIC))
    unmet = tuple(r for ok, r in checks if not ok)
    met = tuple(r for ok, r in checks if ok)
    return DischargeResult(not unmet, unmet, met)
