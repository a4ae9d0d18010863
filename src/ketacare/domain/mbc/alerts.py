"""Pure alert rules over scored results (no storage; the measurement-based-care workflow stores).

Given a scored result and, optionally, the patient's baseline and previous results of the same
instrument, :func:`evaluate_alerts` returns the alerts to raise, each with a level, a stable rule
id, a plain-language reason and its source:

========================  ========  =========================================================
rule id                   level     condition (source)
========================  ========  =========================================================
``phq9.item9``            high      PHQ-9 item 9 >= 1 (clinical reference §2.1) [V]
``cssrs.high``            critical  C-SSRS screener triage level high (Columbia triage) [V]
``cssrs.moderate``        high      C-SSRS screener triage level moderate (SAFE-T) [V]
``worsening.mcid``        warning   total worse than baseline by >= MCID (PHQ-9 5, Löwe 2004)
``band.severe_entry``     warning   entry into a severe band from a non-severe previous result
``flag.<id>``             warning   other safety flags (e.g. MADRS item 10, MOAA/S <= 3)
========================  ========  =========================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import ScoreResult, get_instrument
from ketacare.domain.mbc.outcomes import mcid as default_mcid

AlertLevel = Literal["critical", "high", "warning"]
_HANDLED = {("phq9", "item9_positive"), ("*", "risk_high"), ("*", "risk_moderate")}


@dataclass(frozen=True, slots=True)
class Alert:
    """One alert: ``level``, stable ``rule_id``, ``reason`` for the clinician and ``source``."""

    rule_id: str
    level: AlertLevel
    reason: str
    source: str
    instrument_id: str


@dataclass(frozen=True, slots=True)
class AlertConfig:
    """Clinic overrides: MCID per instrument (points) and rules switched off by id."""

    mcid: Mapping[str, float] = field(default_factory=dict)
    disabled: frozenset[str] = frozenset()


DEFAULT_ALERT_CONFIG = AlertConfig()


def _severe_codes(instrument_id: str, band_set: str | None) -> set[str]:
    inst = get_instrument(instrument_id)
    sets = inst.band_sets
    bands = sets[band_set].bands if band_set is not None and band_set in sets else inst.bands
    return {b.code for b in bands if b.severe}


def evaluate_alerts(
    result: ScoreResult,
    baseline: ScoreResult | None = None,
    previous: ScoreResult | None = None,
    config: AlertConfig = DEFAULT_ALERT_CONFIG,
    baseline_note: str = "",
) -> tuple[Alert, ...]:
    """Return the alerts raised by ``result`` (most urgent first).

    Parameters
    ----------
    result : ScoreResult
        The new result.
    baseline, previous : ScoreResult, optional
        The patient's baseline and most recent earlier result of the same instrument.
    config : AlertConfig, optional
        MCID overrides and disabled rule ids.
    baseline_note : str, optional
        Which score ``baseline`` is (e.g. the last one before the first dose), named in the
        ``worsening.mcid`` reason so the clinician knows what the change is measured from
        (clinical reference §6: define the baseline explicitly).

    Raises
    ------
    InvalidAnswer
        Field ``baseline`` or ``previous`` when it belongs to another instrument.

    Examples
    --------
    >>> from ketacare.domain.instruments import score
    >>> [a.rule_id for a in evaluate_alerts(score("phq9", [0] * 8 + [1]))]
    ['phq9.item9']
    """
    iid = result.instrument_id
    for name, other in (("baseline", baseline), ("previous", previous)):
        if other is not None and other.instrument_id != iid:
            raise InvalidAnswer(name, f"is a {other.instrument_id} result, not {iid}")
    inst = get_instrument(iid)
    alerts: list[Alert] = []
    if iid == "phq9" and "item9_positive" in result.flags:
        value = result.answers[inst.item_ids.index("9")]
        alerts.append(
            Alert(
                "phq9.item9",
                "high",
                f"PHQ-9 item 9 (thoughts of death or self-harm) = {value}: suicide-risk "
                "follow-up in the same visit (C-SSRS screener and clinician review).",
                "clinical reference §2.1; Kroenke 2001; Uebelacker 2011 [V]",
                iid,
            )
        )
    if iid.startswith("cssrs") and result.band == "high":
        alerts.append(
            Alert(
                "cssrs.high",
                "critical",
                "C-SSRS high risk (ideation with intent or plan, or recent behaviour): safety "
                "precautions until evaluated by a mental health professional.",
                "Columbia C-SSRS triage guidelines [V]",
                iid,
            )
        )
    if iid.startswith("cssrs") and result.band == "moderate":
        alerts.append(
            Alert(
                "cssrs.moderate",
                "high",
                "C-SSRS moderate risk (ideation with method, or past behaviour): clinician review.",
                "SAFE-T Protocol with C-SSRS [V]",
                iid,
            )
        )
    m = config.mcid.get(iid, default_mcid(iid))
    if m is not None and baseline is not None and None not in (result.total, baseline.total):
        assert result.total is not None and baseline.total is not None
        worse = result.total - baseline.total
        if inst.direction == "lower_is_worse":
            worse = -worse
        if worse >= m:
            note = f"{baseline_note}; " if baseline_note else ""
            alerts.append(
                Alert(
                    "worsening.mcid",
                    "warning",
                    f"{inst.short_name} {result.total} is {worse:g} points worse than baseline "
                    f"{baseline.total} ({note}MCID {m:g}).",
                    (inst.mcid.source if inst.mcid else "clinic-configured MCID"),
                    iid,
                )
            )
    severe = _severe_codes(iid, result.band_set)
    entered = previous is None or previous.band not in severe
    if result.band in severe and not iid.startswith("cssrs") and entered:
        alerts.append(
            Alert(
                "band.severe_entry",
                "warning",
                f"{inst.short_name} entered the {result.band_label or result.band} band "
                f"({result.total}).",
                f"{inst.short_name} severity bands ({result.band_set})",
                iid,
            )
        )
    for flag in inst.flags:
        if not flag.safety or flag.id not in result.flags:
            continue
        if (iid, flag.id) in _HANDLED or ("*", flag.id) in _HANDLED:
            continue
        # Name the instrument: "Item 10 ..." alone does not say which questionnaire it was.
        text = flag.description
        if not text.startswith(inst.short_name):
            text = f"{inst.short_name} {text[:1].lower()}{text[1:]}"
        alerts.append(Alert(f"flag.{flag.id}", "warning", text, flag.source, iid))
    order = {"critical": 0, "high": 1, "warning": 2}
    kept = [a for a in alerts if a.rule_id not in config.disabled]
    return tuple(sorted(kept, key=lambda a: order[a.level]))


# Patient-facing crisis guidance after a self-report (the one-time link's thank-you page).
# Flags that mean thoughts of death or self-harm were reported, per instrument:
# PHQ-9 item 9 >= 1 (clinical reference §2.1) [V]; QIDS-SR16 item 12 >= 1 (ketacare design
# choice, threshold configurable in the instrument's flag) [U].
SELF_HARM_FLAGS: Mapping[str, str] = {
    "phq9": "item9_positive",
    "qids-sr16": "suicidal_ideation_item",
}


def shows_crisis_guidance(instrument_id: str, flags: Iterable[str], band: str | None) -> bool:
    """Whether a patient who just answered should see the crisis guidance.

    True when the result carries the instrument's self-harm flag (:data:`SELF_HARM_FLAGS`), or
    for a C-SSRS screener when any answer was "yes" (triage level low or above; Columbia
    triage, SAFE-T with C-SSRS [V]).

    >>> shows_crisis_guidance("phq9", {"item9_positive"}, "moderate")
    True
    >>> shows_crisis_guidance("cssrs-screen-recent", set(), "none")
    False
    """
    flag = SELF_HARM_FLAGS.get(instrument_id)
    if flag is not None:
        return flag in set(flags)
    if get_instrument(instrument_id).rule.startswith("cssrs_triage"):
        return band not in (None, "none")
    return False
