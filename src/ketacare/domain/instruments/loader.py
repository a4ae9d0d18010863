"""Load and validate the versioned instrument definitions shipped in ``data/*.json``.

Reading package data with :mod:`importlib.resources` is the only I/O in the domain core.
Each definition is checked on load: unique ids, contiguous answer values, scoring rule items
that exist, a declared range equal to the range the rule can produce, and contiguous bands
that cover it exactly.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Any, cast

from ketacare.domain.errors import DomainError, InvalidAnswer
from ketacare.domain.instruments.model import (
    AnswerOption,
    Band,
    BandSet,
    Domain,
    FlagRule,
    Instrument,
    Item,
    ItemGroup,
    Licence,
    Subscale,
    Threshold,
    Variant,
)

SCHEMA_VERSION = 1
_RULES = {"sum", "domains", "cssrs_triage", "cssrs_triage_slv"}
_FLAG_KINDS = {
    "item_at_least",
    "item_equals_any",
    "total_at_least",
    "total_above",
    "total_at_most",
    "band_is",
    "phq_syndrome",
    "below_pre_dose",
}


class InstrumentDefinitionError(DomainError):
    """An instrument definition (shipped or clinic-supplied) is malformed."""


def _req(d: Mapping[str, Any], key: str, where: str) -> Any:
    if key not in d:
        raise InstrumentDefinitionError(f"{where}: missing key {key!r}")
    return d[key]


def _options(raw: list[dict[str, Any]], where: str) -> tuple[AnswerOption, ...]:
    opts = tuple(
        AnswerOption(
            value=int(o["value"]),
            label=str(o["label"]),
            score=(None if o.get("score", o["value"]) is None else int(o.get("score", o["value"]))),
            loinc=o.get("loinc"),
        )
        for o in raw
    )
    values = [o.value for o in opts]
    if not values or values != list(range(values[0], values[0] + len(values))):
        raise InstrumentDefinitionError(f"{where}: option values must be contiguous, ascending")
    return opts


def _bandset(bid: str, raw: Mapping[str, Any], where: str) -> BandSet:
    bands = tuple(
        Band(
            code=str(b["code"]),
            label=str(b["label"]),
            min=b.get("min"),
            max=b.get("max"),
            severe=bool(b.get("severe", False)),
        )
        for b in _req(raw, "bands", where)
    )
    return BandSet(bid, str(raw["source"]), raw["verification"], bands)


def check_bands(bands: tuple[Band, ...], rng: tuple[int, int] | None, where: str) -> None:
    """Check that numeric bands are contiguous and cover ``rng`` exactly.

    Raises
    ------
    InstrumentDefinitionError
        When a band is empty, there is a gap or overlap, or the range is not covered.
    """
    if rng is None or not bands:
        return
    expected = rng[0]
    for b in bands:
        if b.min is None or b.max is None or b.min != expected or b.max < b.min:
            raise InstrumentDefinitionError(f"{where}: band {b.code!r} must start at {expected}")
        expected = b.max + 1
    if expected != rng[1] + 1:
        raise InstrumentDefinitionError(f"{where}: bands must end at {rng[1]}")


def _flag(raw: Mapping[str, Any], where: str) -> FlagRule:
    kind = _req(raw, "kind", where)
    if kind not in _FLAG_KINDS:
        raise InstrumentDefinitionError(f"{where}: unknown flag kind {kind!r}")
    thr = raw.get("threshold")
    return FlagRule(
        id=str(raw["id"]),
        kind=kind,
        description=str(raw["description"]),
        source=str(raw["source"]),
        verification=raw["verification"],
        item=raw.get("item"),
        items=tuple(raw.get("items", ())),
        threshold=None if thr is None else float(thr),
        value=raw.get("value"),
        band=raw.get("band"),
        syndrome=raw.get("syndrome"),
        core=tuple(raw.get("core", ())),
        other=tuple(raw.get("other", ())),
        safety=bool(raw.get("safety", False)),
        configurable=bool(raw.get("configurable", False)),
    )


def _threshold(raw: Mapping[str, Any] | None, key: str) -> Threshold | None:
    if raw is None:
        return None
    return Threshold(
        default=float(raw[key]),
        source=str(raw["source"]),
        alternatives=MappingProxyType(
            {k: float(v) for k, v in raw.get("alternatives", {}).items()}
        ),
    )


def _rule_range(inst: Instrument) -> tuple[int, int] | None:
    """Range the scoring rule can produce, from the answer scores alone."""
    if inst.rule not in ("sum", "domains"):
        return None
    offset = inst.variants[inst.default_variant].offset if inst.default_variant else 0
    lo = hi = 0
    for dom in inst.domains:
        scores = [
            o.score + offset for i in dom.items for o in inst.item(i).options if o.score is not None
        ]
        if dom.combine == "one_of" and any(
            o.score is None for i in dom.items for o in inst.item(i).options
        ):
            scores.append(0)
        lo += min(scores)
        hi += max(scores)
    return lo, hi


def parse_instrument(raw: Mapping[str, Any]) -> Instrument:
    """Build a validated :class:`Instrument` from its JSON form.

    Parameters
    ----------
    raw : mapping
        A decoded definition (schema version 1, as in ``data/*.json``).

    Returns
    -------
    Instrument

    Raises
    ------
    InstrumentDefinitionError
        Naming the instrument and the offending element.
    """
    where = str(raw.get("id", "<no id>"))
    if raw.get("schema") != SCHEMA_VERSION:
        raise InstrumentDefinitionError(f"{where}: unsupported schema {raw.get('schema')!r}")
    for key in ("version", "name", "citation", "licence", "items", "scoring"):
        _req(raw, key, where)
    option_sets = {
        k: _options(v, f"{where}.options.{k}") for k, v in raw.get("option_sets", {}).items()
    }
    items: list[Item] = []
    for it in raw["items"]:
        iw = f"{where}.{it.get('id')}"
        opts = it["options"]
        if opts not in option_sets:
            raise InstrumentDefinitionError(f"{iw}: unknown option set {opts!r}")
        ew = it.get("enable_when")
        items.append(
            Item(
                id=str(it["id"]),
                label=str(it["label"]),
                options=option_sets[opts],
                text=it.get("text"),
                loinc=it.get("loinc"),
                scored=bool(it.get("scored", True)),
                required=bool(it.get("required", True)),
                required_if_total_above=it.get("required_if_total_above"),
                enable_when=None if ew is None else (str(ew["item"]), int(ew["equals"])),
            )
        )
    ids = [i.id for i in items]
    if len(set(ids)) != len(ids):
        raise InstrumentDefinitionError(f"{where}: duplicate item ids")
    sc = raw["scoring"]
    rule = sc.get("rule")
    if rule not in _RULES:
        raise InstrumentDefinitionError(f"{where}: unknown scoring rule {rule!r}")
    if rule == "sum":
        domains = tuple(Domain(f"item{i}", i, (str(i),), "single") for i in sc["items"])
    elif rule == "domains":
        domains = tuple(
            Domain(str(d["id"]), str(d["label"]), tuple(d["items"]), d["combine"])
            for d in sc["domains"]
        )
    else:
        domains = ()
    for dom in domains:
        for i in dom.items:
            if i not in ids:
                raise InstrumentDefinitionError(f"{where}: scoring names unknown item {i!r}")
    rng = raw.get("range")
    variants = {
        k: Variant(k, int(v["offset"]), str(v["description"]))
        for k, v in raw.get("variants", {}).items()
    }
    band_sets = {
        k: _bandset(k, v, f"{where}.bands.{k}") for k, v in raw.get("band_sets", {}).items()
    }
    default_bs = raw.get("default_band_set")
    if default_bs is not None and default_bs not in band_sets:
        raise InstrumentDefinitionError(f"{where}: unknown default band set {default_bs!r}")
    inst = Instrument(
        id=where,
        version=str(raw["version"]),
        name=str(raw["name"]),
        short_name=str(raw.get("short_name", raw["name"])),
        administration=str(raw.get("administration", "")),
        recall_period=raw.get("recall_period"),
        citation=str(raw["citation"]),
        licence=Licence(**raw["licence"]),
        loinc_panel=raw.get("loinc", {}).get("panel"),
        loinc_total=raw.get("loinc", {}).get("total"),
        loinc_verification=raw.get("loinc", {}).get("verification", "U"),
        items=tuple(items),
        groups=tuple(
            ItemGroup(tuple(g["items"]), int(g["min"]), int(g["max"]), str(g["label"]))
            for g in raw.get("groups", ())
        ),
        rule=cast(Any, rule),
        domains=domains,
        scoring_description=str(sc.get("description", "")),
        range=None if rng is None else (int(rng[0]), int(rng[1])),
        direction=raw.get("direction", "higher_is_worse"),
        band_sets=MappingProxyType(band_sets),
        default_band_set=default_bs,
        completeness=str(raw.get("completeness", "")),
        flags=tuple(_flag(f, f"{where}.flags") for f in raw.get("flags", ())),
        subscales=tuple(
            Subscale(str(s["id"]), str(s["label"]), tuple(s["items"]))
            for s in raw.get("subscales", ())
        ),
        interpretation=MappingProxyType(dict(raw.get("interpretation", {}))),
        unverified=tuple(raw.get("unverified", ())),
        variants=MappingProxyType(variants),
        default_variant=raw.get("default_variant"),
        remission=_threshold(raw.get("remission"), "default"),
        mcid=_threshold(raw.get("mcid"), "points"),
    )
    if _rule_range(inst) not in (None, inst.range):
        raise InstrumentDefinitionError(
            f"{where}: declared range {inst.range} but the rule gives {_rule_range(inst)}"
        )
    for bs in band_sets.values():
        check_bands(bs.bands, inst.range, f"{where}.bands.{bs.id}")
    for fl in inst.flags:
        for ref in (fl.item, *fl.items, *fl.core, *fl.other):
            if ref is not None and ref not in ids:
                raise InstrumentDefinitionError(f"{where}.flags.{fl.id}: unknown item {ref!r}")
    return inst


@cache
def _registry() -> Mapping[str, Instrument]:
    return load_folder(resources.files("ketacare.domain.instruments") / "data")


def load_folder(folder: Traversable) -> Mapping[str, Instrument]:
    """Parse every ``<id>.json`` definition in ``folder``; the file name must match the id."""
    out: dict[str, Instrument] = {}
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            inst = parse_instrument(json.loads(entry.read_text(encoding="utf-8")))
            if f"{inst.id}.json" != entry.name:
                raise InstrumentDefinitionError(f"{entry.name}: id {inst.id!r} does not match")
            out[inst.id] = inst
    return MappingProxyType(out)


def instrument_ids() -> tuple[str, ...]:
    """Ids of all built-in instruments, in a stable clinical order."""
    order = (
        "phq9",
        "phq2",
        "gad7",
        "qids-sr16",
        "madrs",
        "hamd17",
        "cssrs-screen-recent",
        "cssrs-screen-slv",
        "cadss6",
        "cadss23",
        "moaas",
        "bprs-positive",
    )
    reg = _registry()
    return tuple(i for i in order if i in reg) + tuple(sorted(set(reg) - set(order)))


def get_instrument(instrument_id: str) -> Instrument:
    """Return a built-in instrument by id.

    Raises
    ------
    InvalidAnswer
        With field ``instrument`` when the id is unknown.
    """
    try:
        return _registry()[instrument_id]
    except KeyError:
        known = ", ".join(instrument_ids())
        raise InvalidAnswer(
            "instrument", f"unknown instrument {instrument_id!r}; known: {known}"
        ) from None
