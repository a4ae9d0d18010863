"""Treatment protocols as data: typed model and a strict, pure validator.

A protocol file (JSON, ``schema_version`` 1, see ``protocol.schema.json`` and
``docs/intake.md``) names the drug, the dose rule, the minimum spacing between sessions, and
its phases. Each phase is either *per week* (``per_week`` sessions in each 7-day window from
the phase start, optionally all within ``max_span_days``) or *interval* (``interval_days``
after the previous session). :func:`parse_protocol` raises :class:`ProtocolError` naming the
file and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal

from ketacare.domain.errors import DomainError

Drug = Literal["ketamine", "esketamine"]
WeightBasis = Literal["actual", "ideal", "adjusted"]
_ID: Final = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
_VERSION: Final = re.compile(r"^\d+\.\d+\.\d+$")


class ProtocolError(DomainError):
    """A protocol file is invalid: ``origin`` (path or name), ``field`` and ``reason``."""

    def __init__(self, origin: str, field: str, reason: str) -> None:
        super().__init__(f"{origin}: {field}: {reason}")
        self.origin = origin
        self.field = field
        self.reason = reason


@dataclass(frozen=True, slots=True)
class DoseRule:
    """How much per session.

    ``kind`` ``per_kg`` (IV): ``mg_per_kg`` over ``duration_min``, never above
    ``ceiling_mg_per_kg`` without a clinician override. ``kind`` ``fixed_steps`` (esketamine):
    one of ``steps_mg``, starting at ``start_mg``, at most ``ceiling_mg``; ``escalation_requires``
    maps a step to the dose that must have been given before it (84 -> 56).
    """

    kind: Literal["per_kg", "fixed_steps"]
    mg_per_kg: float | None = None
    ceiling_mg_per_kg: float | None = None
    duration_min: float | None = None
    weight_basis: WeightBasis = "actual"
    steps_mg: tuple[int, ...] = ()
    start_mg: int | None = None
    ceiling_mg: int | None = None
    escalation_requires: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Phase:
    """One phase: ``sessions`` at ``per_week`` a week or every ``interval_days`` days."""

    name: str
    sessions: int
    per_week: int | None = None
    per_week_min: int | None = None
    max_span_days: int | None = None
    interval_days: int | None = None
    interval_days_min: int | None = None
    open_ended: bool = False


@dataclass(frozen=True, slots=True)
class Variant:
    """A configurable variant, e.g. ``age-65-plus`` (28 mg start)."""

    id: str
    description: str
    min_age_years: int | None
    start_mg: int | None
    steps_mg: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Protocol:
    """A validated, versioned treatment protocol."""

    id: str
    version: str
    title: str
    drug: Drug
    route: Literal["iv", "intranasal"]
    indication: str
    dose: DoseRule
    min_spacing_hours: float
    phases: tuple[Phase, ...]
    variants: tuple[Variant, ...]
    sources: tuple[str, ...]
    unverified: tuple[str, ...]

    @property
    def total_sessions(self) -> int:
        """Number of sessions in the course."""
        return sum(p.sessions for p in self.phases)

    def variant(self, variant_id: str) -> Variant:
        """Return the variant ``variant_id`` or raise :class:`ProtocolError`."""
        for v in self.variants:
            if v.id == variant_id:
                return v
        raise ProtocolError(self.id, "variant", f"unknown variant {variant_id!r}")


class _Reader:
    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, field: str, reason: str) -> ProtocolError:
        return ProtocolError(self.origin, field, reason)

    def obj(
        self, v: object, field: str, allowed: set[str], required: set[str]
    ) -> Mapping[str, object]:
        if not isinstance(v, Mapping):
            raise self.fail(field or "(top level)", "must be an object")
        for k in v:
            if k not in allowed:
                raise self.fail(f"{field}.{k}" if field else str(k), "is not a known field")
        for k in sorted(required):
            if k not in v:
                raise self.fail(f"{field}.{k}" if field else k, "is required")
        return v

    def text(self, d: Mapping[str, object], k: str, field: str) -> str:
        v = d.get(k)
        if not isinstance(v, str) or not v.strip():
            raise self.fail(f"{field}{k}", "must be a non-empty string")
        return v

    def num(
        self, d: Mapping[str, object], k: str, field: str, lo: float, hi: float
    ) -> float | None:
        v = d.get(k)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int | float) or not lo <= v <= hi:
            raise self.fail(f"{field}{k}", f"must be a number from {lo:g} to {hi:g}, got {v!r}")
        return float(v)

    def int_(self, d: Mapping[str, object], k: str, field: str, lo: int, hi: int) -> int | None:
        v = d.get(k)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise self.fail(f"{field}{k}", f"must be a whole number from {lo} to {hi}, got {v!r}")
        return v

    def strs(self, d: Mapping[str, object], k: str, field: str) -> tuple[str, ...]:
        v = d.get(k, [])
        if not isinstance(v, list) or not all(isinstance(s, str) and s for s in v):
            raise self.fail(f"{field}{k}", "must be a list of strings")
        return tuple(v)

    def steps(self, d: Mapping[str, object], k: str, field: str) -> tuple[int, ...]:
        v = d.get(k)
        if (
            not isinstance(v, list)
            or not v
            or not all(isinstance(x, int) and not isinstance(x, bool) and x > 0 for x in v)
            or list(v) != sorted(set(v))
        ):
            raise self.fail(f"{field}{k}", "must be a non-empty ascending list of positive mg")
        return tuple(v)


def _dose(r: _Reader, raw: object) -> DoseRule:
    d = r.obj(
        raw,
        "dose",
        {
            "kind",
            "mg_per_kg",
            "ceiling_mg_per_kg",
            "duration_min",
            "weight_basis",
            "steps_mg",
            "start_mg",
            "ceiling_mg",
            "escalation_requires",
        },
        {"kind"},
    )
    kind = d["kind"]
    if kind == "per_kg":
        mg = r.num(d, "mg_per_kg", "dose.", 0.01, 5)
        ceiling = r.num(d, "ceiling_mg_per_kg", "dose.", 0.01, 5)
        duration = r.num(d, "duration_min", "dose.", 1, 600)
        if mg is None or ceiling is None or duration is None:
            raise r.fail("dose", "per_kg needs mg_per_kg, ceiling_mg_per_kg and duration_min")
        if mg > ceiling:
            raise r.fail("dose.mg_per_kg", f"{mg:g} is above ceiling_mg_per_kg {ceiling:g}")
        basis = d.get("weight_basis", "actual")
        if basis not in ("actual", "ideal", "adjusted"):
            raise r.fail("dose.weight_basis", "must be actual, ideal or adjusted")
        return DoseRule("per_kg", mg, ceiling, duration, basis)
    if kind == "fixed_steps":
        steps = r.steps(d, "steps_mg", "dose.")
        start = r.int_(d, "start_mg", "dose.", 1, 10_000)
        ceiling_mg = r.int_(d, "ceiling_mg", "dose.", 1, 10_000) or max(steps)
        if start not in steps:
            raise r.fail("dose.start_mg", f"must be one of steps_mg {list(steps)}")
        if ceiling_mg < max(steps):
            raise r.fail("dose.ceiling_mg", "must be at least the largest step")
        esc_raw = d.get("escalation_requires", {})
        if not isinstance(esc_raw, Mapping):
            raise r.fail("dose.escalation_requires", "must be an object {step: required prior}")
        esc: list[tuple[int, int]] = []
        for k, v in esc_raw.items():
            if not str(k).isdigit() or int(k) not in steps or v not in steps:
                raise r.fail(f"dose.escalation_requires.{k}", "keys and values must be steps")
            esc.append((int(k), int(v)))
        return DoseRule(
            "fixed_steps",
            steps_mg=steps,
            start_mg=start,
            ceiling_mg=ceiling_mg,
            escalation_requires=tuple(esc),
        )
    raise r.fail("dose.kind", "must be per_kg or fixed_steps")


def _phase(r: _Reader, raw: object, i: int) -> Phase:
    f = f"phases[{i}]"
    d = r.obj(
        raw,
        f,
        {
            "name",
            "sessions",
            "per_week",
            "per_week_min",
            "max_span_days",
            "interval_days",
            "interval_days_min",
            "open_ended",
        },
        {"name", "sessions"},
    )
    p = f + "."
    per_week = r.int_(d, "per_week", p, 1, 7)
    interval = r.int_(d, "interval_days", p, 1, 366)
    if (per_week is None) == (interval is None):
        raise r.fail(f, "needs exactly one of per_week or interval_days")
    pw_min = r.int_(d, "per_week_min", p, 1, 7)
    if pw_min is not None and (per_week is None or pw_min > per_week):
        raise r.fail(p + "per_week_min", "needs per_week and must not exceed it")
    iv_min = r.int_(d, "interval_days_min", p, 1, 366)
    if iv_min is not None and (interval is None or iv_min > interval):
        raise r.fail(p + "interval_days_min", "needs interval_days and must not exceed it")
    sessions = r.int_(d, "sessions", p, 1, 200)
    assert sessions is not None
    open_ended = d.get("open_ended", False)
    if not isinstance(open_ended, bool):
        raise r.fail(p + "open_ended", "must be true or false")
    return Phase(
        r.text(d, "name", p),
        sessions,
        per_week,
        pw_min,
        r.int_(d, "max_span_days", p, 1, 366),
        interval,
        iv_min,
        open_ended,
    )


def parse_protocol(data: object, origin: str = "protocol") -> Protocol:
    """Validate a parsed protocol document and return a :class:`Protocol`.

    Parameters
    ----------
    data : object
        The parsed JSON document.
    origin : str
        File path or name, used in error messages.

    Raises
    ------
    ProtocolError
        Naming ``origin``, the field and the reason.
    """
    r = _Reader(origin)
    top = {
        "schema_version",
        "id",
        "version",
        "title",
        "drug",
        "route",
        "indication",
        "dose",
        "min_spacing_hours",
        "phases",
        "variants",
        "sources",
        "unverified",
    }
    d = r.obj(data, "", top, top - {"variants", "unverified"})
    if d["schema_version"] != 1:
        raise r.fail("schema_version", "must be 1")
    pid = r.text(d, "id", "")
    if not _ID.match(pid):
        raise r.fail("id", "must be lower-case letters, digits and hyphens (2-64 characters)")
    if not _VERSION.match(r.text(d, "version", "")):
        raise r.fail("version", "must be MAJOR.MINOR.PATCH")
    drug, route = d["drug"], d["route"]
    if drug not in ("ketamine", "esketamine"):
        raise r.fail("drug", "must be ketamine or esketamine")
    if route not in ("iv", "intranasal"):
        raise r.fail("route", "must be iv or intranasal")
    dose = _dose(r, d["dose"])
    if (drug == "esketamine") != (dose.kind == "fixed_steps"):
        raise r.fail("dose.kind", "esketamine uses fixed_steps; IV ketamine uses per_kg")
    phases_raw = d["phases"]
    if not isinstance(phases_raw, list) or not phases_raw:
        raise r.fail("phases", "must be a non-empty list")
    phases = tuple(_phase(r, p, i) for i, p in enumerate(phases_raw))
    variants: list[Variant] = []
    raw_v = d.get("variants", [])
    if not isinstance(raw_v, list):
        raise r.fail("variants", "must be a list")
    for i, v in enumerate(raw_v):
        f = f"variants[{i}]."
        vd = r.obj(
            v,
            f[:-1],
            {"id", "description", "min_age_years", "start_mg", "steps_mg"},
            {"id", "description"},
        )
        steps = r.steps(vd, "steps_mg", f) if "steps_mg" in vd else dose.steps_mg
        start = r.int_(vd, "start_mg", f, 1, 10_000)
        if start is not None and start not in steps:
            raise r.fail(f + "start_mg", "must be one of the variant's steps_mg")
        variants.append(
            Variant(
                r.text(vd, "id", f),
                r.text(vd, "description", f),
                r.int_(vd, "min_age_years", f, 0, 120),
                start,
                steps,
            )
        )
    spacing = r.num(d, "min_spacing_hours", "", 0, 24 * 60)
    assert spacing is not None
    return Protocol(
        pid,
        str(d["version"]),
        r.text(d, "title", ""),
        drug,
        route,
        r.text(d, "indication", ""),
        dose,
        spacing,
        phases,
        tuple(variants),
        r.strs(d, "sources", ""),
        r.strs(d, "unverified", ""),
    )
