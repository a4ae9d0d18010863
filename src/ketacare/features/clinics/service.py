"""Clinic settings: time zone, contact text shown to patients and the alert rules.

The CLI (``ketacare clinic ...``) and the admin pages (``features/admin``) change them through
these functions, so both validate the same way. They flush, never commit, and do not audit
(``clinics`` sits below ``audit``): the callers that act for a person audit.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ketacare.domain.instruments import get_instrument
from ketacare.domain.mbc.alerts import AlertConfig
from ketacare.domain.mbc.outcomes import mcid as default_mcid
from ketacare.features._kit import clock
from ketacare.features.clinics.models import Clinic

#: Longest contact text (characters).
MAX_CONTACT = 2000

#: Alert rules a clinic may switch off: the warnings. The safety rules (PHQ-9 item 9,
#: C-SSRS high and moderate, instrument safety flags) always stay on.
SWITCHABLE_RULES: Mapping[str, str] = {
    "worsening.mcid": "Worsening from baseline by at least the MCID",
    "band.severe_entry": "Entry into a severe band",
}

#: Instruments whose ``worsening.mcid`` threshold a clinic may set (points).
MCID_INSTRUMENTS: tuple[str, ...] = ("phq9", "gad7", "madrs", "hamd17", "qids-sr16")


class SettingError(ValueError):
    """A clinic setting was refused; ``field`` names the input at fault."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AlertRules:
    """A clinic's alert rules as stored: rules switched off and MCID overrides."""

    disabled: frozenset[str]
    mcid: Mapping[str, float]


def alert_rules(clinic: Clinic) -> AlertRules:
    """The clinic's stored alert rules (unknown stored ids are ignored)."""
    disabled = frozenset(
        r for r in (clinic.alert_disabled or "").split(",") if r.strip() in SWITCHABLE_RULES
    )
    mcid = {
        k: float(v)
        for k, v in (clinic.alert_mcid or {}).items()
        if k in MCID_INSTRUMENTS and isinstance(v, int | float)
    }
    return AlertRules(disabled, mcid)


def alert_config(db: Session, clinic_id: int) -> AlertConfig:
    """The alert configuration scores of this clinic are evaluated with."""
    clinic = db.get(Clinic, clinic_id)
    if clinic is None:
        return AlertConfig()
    rules = alert_rules(clinic)
    return AlertConfig(mcid=dict(rules.mcid), disabled=rules.disabled)


def default_mcid_of(instrument_id: str) -> float | None:
    """The published MCID the rule uses without an override (None: the rule is off)."""
    return default_mcid(instrument_id)


def valid_timezone(name: str | None) -> str | None:
    """The IANA zone ``name`` (None or '': unset, KETACARE_TIMEZONE applies); SettingError
    for an unknown name."""
    if name is None or not name.strip():
        return None
    try:
        return clock.valid_tz(name.strip())
    except clock.TimeError as exc:
        raise SettingError("timezone", str(exc)) from None


def set_timezone(clinic: Clinic, name: str | None) -> str | None:
    """Set the clinic's IANA time zone (None or '': unset, KETACARE_TIMEZONE applies)."""
    clinic.timezone = valid_timezone(name)
    return clinic.timezone


def valid_contact(text: str) -> str:
    """The contact text, trimmed, with its length checked."""
    value = text.replace("\r\n", "\n").strip()
    if len(value) > MAX_CONTACT:
        raise SettingError("contact_text", f"must be at most {MAX_CONTACT} characters")
    return value


def set_contact(clinic: Clinic, text: str) -> str:
    """Set the text patients see on how to reach the clinic."""
    clinic.contact_text = valid_contact(text)
    return clinic.contact_text


def parse_mcid(instrument_id: str, text: str) -> float | None:
    """A typed MCID override: empty is None (the default); else a number in the instrument's
    range above zero."""
    field = f"mcid_{instrument_id}"
    value = text.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise SettingError(field, "must be a number of points") from None
    top = get_instrument(instrument_id).range
    high = float(top[1] - top[0]) if top is not None else 1000.0
    if not math.isfinite(number) or number <= 0 or number > high:
        raise SettingError(field, f"must be above 0 and at most {high:g} points")
    return number


def set_alert_rules(
    clinic: Clinic, disabled: set[str] | frozenset[str], mcid: Mapping[str, float | None]
) -> AlertRules:
    """Store the clinic's alert rules: ``disabled`` rule ids (only :data:`SWITCHABLE_RULES`)
    and MCID overrides by instrument (None: the default)."""
    check_alert_rules(disabled, mcid)
    clinic.alert_disabled = ",".join(sorted(disabled))
    kept = {k: float(v) for k, v in mcid.items() if v is not None}
    clinic.alert_mcid = kept or None
    return alert_rules(clinic)


def check_alert_rules(
    disabled: set[str] | frozenset[str], mcid: Mapping[str, float | None]
) -> None:
    """SettingError unless every rule id may be switched off and every MCID is configurable."""
    unknown = sorted(set(disabled) - SWITCHABLE_RULES.keys())
    if unknown:
        raise SettingError("disabled", f"cannot switch off {', '.join(unknown)}")
    bad = sorted(set(mcid) - set(MCID_INSTRUMENTS))
    if bad:
        raise SettingError(f"mcid_{bad[0]}", "has no configurable MCID")


def clinic_by_id(db: Session, clinic_id: int) -> Clinic:
    """The clinic (it exists: users belong to one)."""
    clinic = db.get(Clinic, clinic_id)
    assert clinic is not None
    return clinic
