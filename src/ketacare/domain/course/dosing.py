"""Dose calculation for IV ketamine (mg/kg) and esketamine (fixed 28 mg device steps).

IV ketamine (clinical.md §5.1): dose = mg/kg x dosing weight, infused over the protocol's
duration (0.5 mg/kg over 40 min by default). Dosing weight is actual body weight by default;
ideal (Devine 1974) and adjusted (IBW + 0.4 x (actual - IBW)) body weight are options tagged
[U] (the consensus guidance on weight basis is unverified, clinical.md §9 item 1). The rate is
the infused volume over the duration.

Weight safety (rule ids in brackets; docs/intake.md "Dosing"):

* [DOSE-WEIGHT-HEIGHT] The Devine formula adds 2.3 kg per inch *over 5 feet* (Devine 1974,
  Drug Intell Clin Pharm 8:650), so it is defined from 60 in (152.4 cm) up; below that it gives
  tiny or negative weights. ketacare also stops at ``DosingConfig.devine_max_height_cm``
  (default 213.4 cm = 84 in [U]: linear IBW equations drift at the ends of the height range,
  Peterson et al. 2016, Am J Clin Nutr 103:1197). Outside the range an ideal or adjusted dose is
  refused, naming the height and the weight basis.
* [DOSE-WEIGHT-CAP] An ideal or adjusted dosing weight is never above the actual weight: when
  IBW exceeds the actual weight, the actual weight is used and a reason says so (ketacare
  policy; the dose is then the mg/kg the clinician chose, on the patient's real weight).
* [DOSE-CEILING] mg/kg above the protocol ceiling needs a clinician :class:`Override` with a
  reason; [DOSE-CEILING-ACTUAL] so does an exact dose above the ceiling times the *actual*
  weight, whatever the weight basis.

Esketamine (clinical.md §5.2): 28 mg per device; doses are protocol steps (56/84 mg; 28 mg in
the age-65-plus variant); 84 mg only after a 56 mg dose; 5 minutes' rest between devices.

Rounding (stated in every result): dose to the nearest ``DosingConfig.dose_step_mg`` (0.1 mg),
half up; drug volume to 0.01 mL; rate to 0.1 mL/h. Every displayed value is rounded in
:mod:`decimal` arithmetic from the decimal inputs as typed, so a tie rounds up exactly
(0.5 mg/kg x 273.7 kg = 136.85 mg -> 136.9 mg; binary floating point gave 136.8). Exact values
are kept alongside.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

from ketacare.domain.course.protocols.model import Protocol, WeightBasis
from ketacare.domain.errors import DomainError, InvalidAnswer
from ketacare.domain.rules import SRC_ESK_LABEL, SRC_KETACARE_POLICY, Reason

DEVICE_MG: Final = 28
REST_BETWEEN_DEVICES_MIN: Final = 5
_SRC_IV: Final = (
    "0.5 mg/kg IV over 40 min: Zarate 2006; Murrough 2013; Fava 2018 (clinical.md §5.1)"
)
_SRC_WEIGHT: Final = (
    "[U] ideal/adjusted body weight dosing: Devine 1974 IBW; basis unverified (clinical.md §9)"
)
_SRC_DEVINE: Final = (
    "Devine 1974, Drug Intell Clin Pharm 8:650: IBW = 50 (men) or 45.5 (women) kg + 2.3 kg per "
    "inch over 5 feet, so defined from 152.4 cm; upper limit [U] (Peterson 2016, Am J Clin Nutr "
    "103:1197: IBW equations drift at the ends of the height range)"
)
#: Devine's formula counts inches over 5 feet: it is defined from 60 in = 152.4 cm up.
DEVINE_MIN_HEIGHT_CM: Final = 152.4


class DoseRuleError(DomainError):
    """A dose breaks a protocol rule (ceiling, step, escalation) and has no valid override."""

    def __init__(self, rule_id: str, message: str) -> None:
        super().__init__(message)
        self.rule_id = rule_id


@dataclass(frozen=True, slots=True)
class Override:
    """A clinician's documented override of a hard dose limit."""

    clinician: str
    reason: str

    def __post_init__(self) -> None:
        if not self.clinician.strip():
            raise InvalidAnswer("override.clinician", "must name the clinician")
        if not self.reason.strip():
            raise InvalidAnswer("override.reason", "must give a reason")


@dataclass(frozen=True, slots=True)
class DosingConfig:
    """Rounding steps and plausibility limits (clinic-configurable).

    ``dose_step_mg`` 0.1 mg and ``rate_step_ml_per_h`` 0.1 mL/h are ketacare defaults [U];
    weights outside ``min_weight_kg``-``max_weight_kg`` (30-300 kg) are rejected.
    """

    dose_step_mg: float = 0.1
    rate_step_ml_per_h: float = 0.1
    min_weight_kg: float = 30.0
    max_weight_kg: float = 300.0
    #: [U] tallest height for the Devine formula (84 in); the lower limit 152.4 cm is fixed.
    devine_max_height_cm: float = 213.4


@dataclass(frozen=True, slots=True)
class IvDose:
    """An IV ketamine dose and infusion.

    Units: mg, mg/kg, kg, min, mg/mL, mL, mL/h. ``rate_ml_per_h`` is ``None`` without a
    volume (neither ``concentration_mg_per_ml`` nor ``volume_ml`` given).
    """

    protocol_id: str
    dose_mg: float
    dose_mg_exact: float
    mg_per_kg: float
    weight_basis: WeightBasis
    dosing_weight_kg: float
    duration_min: float
    concentration_mg_per_ml: float | None
    drug_volume_ml: float | None
    volume_ml: float | None
    rate_ml_per_h: float | None
    rate_ml_per_h_exact: float | None
    rounding: str
    override: Override | None
    reasons: tuple[Reason, ...]
    actual_weight_kg: float = 0.0
    #: Exact dose over *actual* body weight, mg/kg (what the ceiling is also checked against).
    mg_per_kg_actual: float = 0.0


@dataclass(frozen=True, slots=True)
class EsketamineDose:
    """An esketamine dose: mg, number of 28 mg devices and rest between devices (min)."""

    protocol_id: str
    dose_mg: int
    devices: int | None
    rest_between_devices_min: int
    override: Override | None
    reasons: tuple[Reason, ...]


def _dec(x: float | Decimal) -> Decimal:
    """The decimal value of ``x`` as written (shortest repr of a float, never its binary)."""
    return x if isinstance(x, Decimal) else Decimal(repr(float(x)))


def round_half_up(x: float | Decimal, step: float | Decimal) -> Decimal:
    """Round ``x`` to a multiple of ``step``, ties up, in exact decimal arithmetic.

    Examples
    --------
    >>> round_half_up(Decimal("0.5") * Decimal("273.7"), 0.1)
    Decimal('136.9')
    >>> round_half_up(2.675, 0.01), round_half_up(0.25, 0.5)
    (Decimal('2.68'), Decimal('0.5'))
    """
    q = _dec(step)
    return (_dec(x) / q).to_integral_value(ROUND_HALF_UP) * q


def _positive(value: float, field: str) -> float:
    if not math.isfinite(value) or value <= 0:
        raise InvalidAnswer(field, f"must be greater than 0, got {value:g}")
    return value


def _check_weight(weight_kg: float, config: DosingConfig) -> None:
    if (
        not math.isfinite(weight_kg)
        or not config.min_weight_kg <= weight_kg <= config.max_weight_kg
    ):
        raise InvalidAnswer(
            "weight_kg",
            f"must be from {config.min_weight_kg:g} to {config.max_weight_kg:g} kg, "
            f"got {weight_kg:g}",
        )


def ideal_body_weight(
    height_cm: float | None,
    sex: str | None,
    basis: str = "ideal",
    config: DosingConfig = DosingConfig(),
) -> Decimal:
    """Devine ideal body weight, kg, exact decimal; refused outside the formula's height range.

    Raises
    ------
    InvalidAnswer
        ``height_cm`` (missing, or outside 152.4 cm to ``devine_max_height_cm``; the message
        names the weight basis) or ``sex`` (not male or female).
    """
    lo, hi = DEVINE_MIN_HEIGHT_CM, config.devine_max_height_cm
    if height_cm is None:
        raise InvalidAnswer(
            "height_cm", f"{basis} body weight needs a height from {lo:g} to {hi:g} cm"
        )
    if not math.isfinite(height_cm) or not lo <= height_cm <= hi:
        raise InvalidAnswer(
            "height_cm",
            f"{height_cm:g} cm is outside {lo:g}-{hi:g} cm, where the Devine ideal body weight "
            f"formula is defined, so weight basis {basis} cannot be used; dose on actual weight "
            "(rule DOSE-WEIGHT-HEIGHT)",
        )
    if sex not in ("male", "female"):
        raise InvalidAnswer("sex", f"{basis} body weight needs sex male or female")
    base = Decimal(50) if sex == "male" else Decimal("45.5")
    return base + Decimal("2.3") * (_dec(height_cm) / Decimal("2.54") - 60)


def _dosing_weight(
    weight_kg: float,
    basis: WeightBasis,
    height_cm: float | None,
    sex: str | None,
    config: DosingConfig,
) -> tuple[Decimal, Reason | None]:
    """Dosing weight (exact) and the reason when it was capped at the actual weight."""
    _check_weight(weight_kg, config)
    actual = _dec(weight_kg)
    if basis == "actual":
        return actual, None
    ibw = ideal_body_weight(height_cm, sex, basis, config)
    w = ibw if basis == "ideal" else ibw + Decimal("0.4") * (actual - ibw)
    # Inside the Devine height range IBW >= 45.5 kg, so w > 0 (adjusted = 0.6 IBW + 0.4 actual).
    assert w > 0, "a dosing weight is never zero or negative"
    if w <= actual:
        return w, None
    text = (
        f"{basis.capitalize()} body weight {float(w):.1f} kg (IBW {float(ibw):.1f} kg) is above "
        f"the actual weight {weight_kg:g} kg: the actual weight is used."
    )
    return actual, Reason("DOSE-WEIGHT-CAP", text, f"{SRC_KETACARE_POLICY}; {_SRC_DEVINE}")


def dosing_weight(
    weight_kg: float,
    basis: WeightBasis = "actual",
    height_cm: float | None = None,
    sex: str | None = None,
    config: DosingConfig = DosingConfig(),
) -> float:
    """Dosing weight in kg: actual, ideal (Devine) or adjusted body weight.

    Never above the actual weight (an ideal or adjusted weight above it is replaced by the
    actual weight; :func:`iv_ketamine_dose` says so in a ``DOSE-WEIGHT-CAP`` reason). Refused
    outside the Devine formula's height range.

    Examples
    --------
    >>> dosing_weight(80)
    80.0
    >>> round(dosing_weight(100, "ideal", 180, "male"), 1)
    75.0
    >>> round(dosing_weight(100, "adjusted", 180, "male"), 1)
    85.0
    >>> dosing_weight(40, "ideal", 200, "male")
    40.0
    """
    return float(_dosing_weight(weight_kg, basis, height_cm, sex, config)[0])


def infusion_rate_ml_per_h(volume_ml: float, duration_min: float) -> float:
    """Rate (mL/h) that infuses ``volume_ml`` over ``duration_min``; rate x duration = volume."""
    return _positive(volume_ml, "volume_ml") * 60.0 / _positive(duration_min, "duration_min")


def _rate_exact(volume_ml: float | Decimal, duration_min: float) -> Decimal:
    return _dec(volume_ml) * 60 / _dec(duration_min)


def iv_ketamine_dose(
    protocol: Protocol,
    weight_kg: float,
    *,
    mg_per_kg: float | None = None,
    weight_basis: WeightBasis | None = None,
    height_cm: float | None = None,
    sex: str | None = None,
    duration_min: float | None = None,
    concentration_mg_per_ml: float | None = None,
    volume_ml: float | None = None,
    override: Override | None = None,
    config: DosingConfig = DosingConfig(),
) -> IvDose:
    """Compute an IV ketamine dose and infusion rate for ``protocol``.

    Parameters
    ----------
    protocol : Protocol
        A ``per_kg`` protocol, e.g. ``iv-ketamine-induction``.
    weight_kg : float
        Actual body weight, kg (30-300).
    mg_per_kg : float, optional
        Dose in mg/kg; default the protocol's (0.5).
    weight_basis : {"actual", "ideal", "adjusted"}, optional
        Default the protocol's (actual); ideal and adjusted are [U] and need height and sex.
    duration_min : float, optional
        Infusion time, min; default the protocol's (40).
    concentration_mg_per_ml : float, optional
        Ketamine stock concentration; gives the drug volume to draw.
    volume_ml : float, optional
        Final volume infused (drug plus diluent), mL; must hold the drug volume.
    override : Override, optional
        Required to exceed the protocol's ``ceiling_mg_per_kg``.

    Raises
    ------
    InvalidAnswer
        For an implausible input, naming the field.
    DoseRuleError
        Above the ceiling without an override: ``DOSE-CEILING`` (mg/kg above the protocol
        ceiling) or ``DOSE-CEILING-ACTUAL`` (exact dose above the ceiling x actual weight).

    Examples
    --------
    >>> from ketacare.domain.course.protocols import builtin_protocols
    >>> d = iv_ketamine_dose(builtin_protocols()["iv-ketamine-induction"], 70,
    ...                      concentration_mg_per_ml=10, volume_ml=100)
    >>> (d.dose_mg, d.duration_min, d.drug_volume_ml, d.rate_ml_per_h)
    (35.0, 40.0, 3.5, 150.0)
    """
    rule = protocol.dose
    if rule.kind != "per_kg":
        raise InvalidAnswer("protocol", f"{protocol.id} is not a mg/kg (IV) protocol")
    assert rule.mg_per_kg is not None
    assert rule.ceiling_mg_per_kg is not None
    assert rule.duration_min is not None
    basis = weight_basis or rule.weight_basis
    w, capped = _dosing_weight(weight_kg, basis, height_cm, sex, config)
    mgkg = _positive(rule.mg_per_kg if mg_per_kg is None else mg_per_kg, "mg_per_kg")
    minutes = _positive(rule.duration_min if duration_min is None else duration_min, "duration_min")
    reasons = [
        Reason(
            "DOSE-IV",
            f"{mgkg:g} mg/kg x {float(w):.1f} kg ({basis} body weight) over {minutes:g} min.",
            _SRC_IV,
        )
    ]
    if basis != "actual":
        reasons.append(
            Reason("DOSE-WEIGHT-BASIS", f"{basis.capitalize()} body weight used [U].", _SRC_WEIGHT)
        )
    if capped is not None:
        reasons.append(capped)
    exact_dec = _dec(mgkg) * w
    per_actual = exact_dec / _dec(weight_kg)
    ceiling = rule.ceiling_mg_per_kg
    problems: list[tuple[str, str]] = []
    if mgkg > ceiling:
        problems.append(
            (
                "DOSE-CEILING",
                f"mg_per_kg: {mgkg:g} mg/kg is above the {protocol.id} ceiling of "
                f"{ceiling:g} mg/kg",
            )
        )
    if per_actual > _dec(ceiling):
        problems.append(
            (
                "DOSE-CEILING-ACTUAL",
                f"mg_per_kg: {float(exact_dec):g} mg is {float(per_actual):.3g} mg/kg of the "
                f"actual weight {weight_kg:g} kg, above the {protocol.id} ceiling of "
                f"{ceiling:g} mg/kg",
            )
        )
    for rule_id, text in problems:
        if override is None:
            raise DoseRuleError(rule_id, f"{text}; a clinician override with a reason is required")
        reasons.append(
            Reason(
                rule_id,
                f"{text.partition(': ')[2].capitalize()}: overridden by {override.clinician}: "
                f"{override.reason}",
                SRC_KETACARE_POLICY,
            )
        )
    exact = float(exact_dec)
    dose_dec = round_half_up(exact_dec, config.dose_step_mg)
    dose = float(dose_dec)
    drug_dec = None
    if concentration_mg_per_ml is not None:
        conc = _positive(concentration_mg_per_ml, "concentration_mg_per_ml")
        drug_dec = round_half_up(dose_dec / _dec(conc), Decimal("0.01"))
    drug_ml = None if drug_dec is None else float(drug_dec)
    total_ml = volume_ml if volume_ml is not None else drug_ml
    if volume_ml is not None:
        _positive(volume_ml, "volume_ml")
        if drug_ml is not None and volume_ml < drug_ml:
            raise InvalidAnswer(
                "volume_ml", f"{volume_ml:g} mL cannot hold the {drug_ml:g} mL of drug"
            )
    total_dec = _dec(volume_ml) if volume_ml is not None else drug_dec
    rate_dec = None if total_dec is None else _rate_exact(total_dec, minutes)
    rate_exact = None if total_ml is None else infusion_rate_ml_per_h(total_ml, minutes)
    rate = None if rate_dec is None else float(round_half_up(rate_dec, config.rate_step_ml_per_h))
    rounding = (
        f"dose to nearest {config.dose_step_mg:g} mg (half up); drug volume to 0.01 mL; "
        f"rate to nearest {config.rate_step_ml_per_h:g} mL/h (half up, decimal arithmetic)"
    )
    return IvDose(
        protocol.id,
        dose,
        exact,
        mgkg,
        basis,
        float(w),
        minutes,
        concentration_mg_per_ml,
        drug_ml,
        total_ml,
        rate,
        rate_exact,
        rounding,
        override,
        tuple(reasons),
        float(weight_kg),
        float(per_actual),
    )


def esketamine_dose(
    protocol: Protocol,
    requested_mg: int | None = None,
    previous_mg: Sequence[int] = (),
    *,
    variant: str | None = None,
    override: Override | None = None,
) -> EsketamineDose:
    """Check or plan an esketamine dose.

    Parameters
    ----------
    protocol : Protocol
        A ``fixed_steps`` protocol (``esketamine-trd``, ``esketamine-mdsi``).
    requested_mg : int, optional
        Dose wanted; default the start dose for a first session, else the last dose.
    previous_mg : sequence of int
        Doses already given in this course, oldest first.
    variant : str, optional
        E.g. ``"age-65-plus"`` (28 mg start and 28 mg step).
    override : Override, optional
        Passes the ceiling, start and escalation rules (never the device steps).

    Raises
    ------
    DoseRuleError
        ``DOSE-STEP`` (not a step), ``DOSE-CEILING``, ``DOSE-START``, ``DOSE-START-REDUCED``
        (a first dose below the start, e.g. 56 mg on ``esketamine-mdsi``, needs an override
        whose reason records the tolerability problem) or ``DOSE-ESCALATION``.

    Examples
    --------
    >>> from ketacare.domain.course.protocols import builtin_protocols
    >>> p = builtin_protocols()["esketamine-trd"]
    >>> esketamine_dose(p).dose_mg, esketamine_dose(p, 84, [56]).devices
    (56, 3)
    """
    rule = protocol.dose
    if rule.kind != "fixed_steps":
        raise InvalidAnswer("protocol", f"{protocol.id} is not a fixed-step (esketamine) protocol")
    steps, start = rule.steps_mg, rule.start_mg
    if variant is not None:
        v = protocol.variant(variant)
        steps, start = v.steps_mg, v.start_mg or start
    assert start is not None
    assert rule.ceiling_mg is not None
    dose = requested_mg if requested_mg is not None else (previous_mg[-1] if previous_mg else start)
    reasons = [
        Reason(
            "DOSE-ESK",
            f"{dose} mg intranasal ({protocol.id}"
            + (f", variant {variant}" if variant else "")
            + ").",
            SRC_ESK_LABEL,
        )
    ]
    if dose not in steps:
        raise DoseRuleError(
            "DOSE-STEP",
            f"dose_mg: {dose} mg is not an allowed step "
            f"({', '.join(map(str, steps))} mg) for {protocol.id}",
        )
    problems: list[tuple[str, str]] = []
    if dose > rule.ceiling_mg:
        problems.append(("DOSE-CEILING", f"{dose} mg is above the {rule.ceiling_mg} mg ceiling"))
    if not previous_mg and dose > start:
        problems.append(("DOSE-START", f"the first dose is {start} mg, not {dose} mg"))
    if not previous_mg and dose < start:
        # esketamine-mdsi: the label starts at 84 mg and allows 56 mg only as a reduction for
        # tolerability (clinical.md §5.2), so a lower first dose needs a recorded reason.
        problems.append(
            (
                "DOSE-START-REDUCED",
                f"the {protocol.id} first dose is {start} mg; {dose} mg is only a reduction "
                "for tolerability, so record the tolerability reason",
            )
        )
    for step, prior in rule.escalation_requires:
        if dose == step and prior not in previous_mg:
            problems.append(("DOSE-ESCALATION", f"{step} mg is only given after a {prior} mg dose"))
    for rule_id, text in problems:
        if override is None:
            raise DoseRuleError(
                rule_id, f"dose_mg: {text}; a clinician override with a reason is required"
            )
        reasons.append(
            Reason(
                rule_id,
                f"{text.capitalize()}: overridden by {override.clinician}: {override.reason}",
                SRC_ESK_LABEL,
            )
        )
    devices = dose // DEVICE_MG if dose % DEVICE_MG == 0 else None
    return EsketamineDose(
        protocol.id,
        dose,
        devices,
        REST_BETWEEN_DEVICES_MIN,
        override if problems else None,
        tuple(reasons),
    )
