"""Score one response to any built-in instrument.

Rules are data (``data/*.json``); this module interprets them. Sources for each rule are in
the definitions and in ``docs/instruments.md``; the clinical reference sections are §2.1-§2.10.
"""

from __future__ import annotations

import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from types import MappingProxyType
from typing import Any

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments.config import (
    DEFAULT_CONFIG,
    ScoreContext,
    ScoringConfig,
    resolve_bands,
    resolve_offset,
    resolve_threshold,
)
from ketacare.domain.instruments.loader import get_instrument
from ketacare.domain.instruments.model import Band, FlagRule, Instrument

_NO_CONTEXT = ScoreContext()


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """A scored response.

    Attributes
    ----------
    instrument_id, version : str
        Which definition scored it.
    total : int or None
        The total (``None`` for the C-SSRS screeners, which have no summed total).
    band, band_label : str or None
        Severity band (C-SSRS: triage level ``none``/``low``/``moderate``/``high``).
    flags : frozenset of str
        Raised flags, e.g. ``{"item9_positive"}``.
    subscales : mapping of str to int
        Domain or subscale scores.
    interpretation : str
        One-line clinical reading of the band.
    complete : bool
        False when a conditionally expected item is missing (e.g. PHQ-9 item 10).
    answers : tuple of int or None
        The validated answers, in item order.
    variant : str or None
        Item-scoring convention used (BPRS ``"1-7"`` or ``"0-6"``).
    band_set : str or None
        Id of the band set used (``"clinic"`` for clinic-defined bands).
    """

    instrument_id: str
    version: str
    total: int | None
    band: str | None
    band_label: str | None
    flags: frozenset[str]
    subscales: Mapping[str, int]
    interpretation: str
    complete: bool
    answers: tuple[int | None, ...]
    variant: str | None = None
    band_set: str | None = None

    @property
    def safe_t_level(self) -> str | None:
        """C-SSRS only: the SAFE-T level, where ketacare's ``none`` is reported as ``low``."""
        if not self.instrument_id.startswith("cssrs"):
            return None
        return "low" if self.band == "none" else self.band

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (answers keyed by item id)."""
        ids = get_instrument(self.instrument_id).item_ids
        out: dict[str, Any] = {
            "instrument": self.instrument_id,
            "version": self.version,
            "total": self.total,
            "band": self.band,
            "band_label": self.band_label,
            "flags": sorted(self.flags),
            "subscales": dict(self.subscales),
            "interpretation": self.interpretation,
            "complete": self.complete,
            "answers": dict(zip(ids, self.answers, strict=True)),
        }
        if self.variant is not None:
            out["variant"] = self.variant
        if self.band_set is not None:
            out["band_set"] = self.band_set
        if self.safe_t_level is not None:
            out["safe_t_level"] = self.safe_t_level
        return out


class Compiled:
    """An instrument prepared for fast scoring under one configuration (internal)."""

    def __init__(self, inst: Instrument, config: ScoringConfig) -> None:
        self.inst = inst
        self.config = config
        self.prefix = inst.id + "."
        self.ids = inst.item_ids
        self.index = {i: n for n, i in enumerate(self.ids)}
        self.variant, off = resolve_offset(inst, config)
        self.offset = off
        self.lo = tuple(it.min_value + off for it in inst.items)
        self.hi = tuple(it.max_value + off for it in inst.items)
        self.scores = tuple(
            tuple(None if o.score is None else o.score + off for o in it.options)
            for it in inst.items
        )
        self.identity = all(
            s == tuple(range(lo, lo + len(s))) for s, lo in zip(self.scores, self.lo, strict=True)
        )
        self.required = tuple(it.required and it.enable_when is None for it in inst.items)
        last_req = max((n for n, r in enumerate(self.required) if r), default=-1)
        self.min_len = last_req + 1
        self.enable = tuple(
            (n, self.index[it.enable_when[0]], it.enable_when[1])
            for n, it in enumerate(inst.items)
            if it.enable_when is not None
        )
        self.groups = tuple(
            (tuple(self.index[i] for i in g.items), g.min, g.max, g.label) for g in inst.groups
        )
        self.domains = tuple(
            (d.id, d.combine, tuple(self.index[i] for i in d.items)) for d in inst.domains
        )
        self.simple_sum = inst.rule == "sum" and self.identity
        self.sum_idx = tuple(ix[0] for _, _, ix in self.domains)
        self.band_set, self.bands = resolve_bands(inst, config)
        self.flags: tuple[tuple[FlagRule, float | None], ...] = tuple(
            (f, resolve_threshold(inst, f, config)) for f in inst.flags
        )
        self.subscales = tuple(
            (s.id, tuple(self.index[i] for i in s.items)) for s in inst.subscales
        )
        self.conditional = tuple(
            (n, it.required_if_total_above)
            for n, it in enumerate(inst.items)
            if it.required_if_total_above is not None
        )
        if inst.range is None:
            self.range: tuple[int, int] | None = None
        else:
            self.range = (
                inst.range[0] + off * len(self.domains),
                inst.range[1] + off * len(self.domains),
            )

    # -- validation -------------------------------------------------------------------------
    def _value(self, n: int, value: object) -> int | None:
        if value is None:
            return None
        lo, hi = self.lo[n], self.hi[n]
        if type(value) is int:
            v = value
        else:
            try:
                if isinstance(value, bool):
                    raise TypeError
                v = operator.index(value)  # type: ignore[arg-type]
            except TypeError:
                raise InvalidAnswer(
                    self.prefix + self.ids[n], f"must be an integer from {lo} to {hi}"
                ) from None
        if not lo <= v <= hi:
            raise InvalidAnswer(self.prefix + self.ids[n], f"must be from {lo} to {hi}, got {v}")
        return v

    def normalise(self, answers: Sequence[object] | Mapping[str, object]) -> list[int | None]:
        """Validate ``answers`` (in item order, or keyed by item id) and return them aligned."""
        n_items = len(self.ids)
        if isinstance(answers, Mapping):
            for key in answers:
                if key not in self.index:
                    raise InvalidAnswer(self.prefix + str(key), f"is not an item of {self.inst.id}")
            raw: list[object] = [answers.get(i) for i in self.ids]
        elif isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
            raise InvalidAnswer(self.inst.id, "answers must be a list or a mapping of item ids")
        else:
            k = len(answers)
            if not self.min_len <= k <= n_items:
                want = str(n_items) if self.min_len == n_items else f"{self.min_len} to {n_items}"
                raise InvalidAnswer(self.inst.id, f"must have {want} answers, got {k}")
            raw = [*answers, *([None] * (n_items - k))]
        vals: list[int | None] = []
        for n, v in enumerate(raw):
            if v is None and self.required[n]:
                raise InvalidAnswer(self.prefix + self.ids[n], "is missing")
            vals.append(self._value(n, v))
        for n, dep, equals in self.enable:
            if vals[dep] == equals:
                if vals[n] is None:
                    raise InvalidAnswer(self.prefix + self.ids[n], "is missing")
            elif vals[n] not in (None, self.lo[n]):
                raise InvalidAnswer(
                    self.prefix + self.ids[n],
                    f"was not asked (item {self.ids[dep]} is not {equals}); leave it blank",
                )
        for idx, gmin, gmax, label in self.groups:
            answered = sum(1 for i in idx if vals[i] is not None)
            names = "/".join(self.ids[i] for i in idx)
            if answered < gmin:
                raise InvalidAnswer(self.prefix + self.ids[idx[0]], f"answer one of items {names}")
            if answered > gmax:
                raise InvalidAnswer(
                    self.prefix + self.ids[idx[-1]], f"rate only one of items {names} ({label})"
                )
        return vals

    # -- scoring ----------------------------------------------------------------------------
    def item_score(self, n: int, v: int) -> int | None:
        """Score contribution of value ``v`` of item ``n`` (``None`` = not assessed)."""
        return self.scores[n][v - self.lo[n]]

    def total(self, vals: list[int | None], context: ScoreContext) -> tuple[int | None, str | None]:
        """Return (total, triage level) for validated answers."""
        rule = self.inst.rule
        if self.simple_sum:
            return sum(vals[i] for i in self.sum_idx), None  # type: ignore[misc]
        if rule in ("sum", "domains"):
            total = 0
            for _, _, idx in self.domains:
                got = [self.item_score(i, v) for i in idx if (v := vals[i]) is not None]
                total += max((s for s in got if s is not None), default=0)
            return total, None
        return None, self._triage(vals, context)

    def _triage(self, vals: list[int | None], context: ScoreContext) -> str:
        # Columbia triage / SAFE-T with C-SSRS, clinical reference §2.7 [V].
        def yes(item: str) -> bool:
            return vals[self.index[item]] == 1

        if self.inst.rule == "cssrs_triage":
            recent_behaviour = yes("6") and yes("6a")
            old_behaviour = yes("6") and not yes("6a")
        else:  # since last visit: the interval decides [U], configurable
            days = context.days_since_last_visit
            recent = days is None or days <= self.config.cssrs_slv_recent_days
            recent_behaviour = yes("6") and recent
            old_behaviour = yes("6") and not recent
        if yes("4") or yes("5") or recent_behaviour:
            return "high"
        if yes("3") or old_behaviour:
            return "moderate"
        if yes("1") or yes("2"):
            return "low"
        return "none"

    def band_of(self, total: int | None, level: str | None) -> Band | None:
        """The band holding ``total`` (or the triage ``level``)."""
        for b in self.bands:
            if level is not None:
                if b.code == level:
                    return b
            elif (
                total is not None and b.min is not None and b.max is not None
            ) and b.min <= total <= b.max:
                return b
        return None

    def flag_on(
        self,
        rule: FlagRule,
        thr: float | None,
        vals: list[int | None],
        total: int | None,
        band: str | None,
        context: ScoreContext,
    ) -> bool:
        """Evaluate one flag rule."""
        kind = rule.kind
        if kind == "band_is":
            return band == rule.band
        if kind == "item_equals_any":
            return any(vals[self.index[i]] == rule.value for i in rule.items)
        if kind == "phq_syndrome":
            # Spitzer/Kroenke algorithm as in CamCOPS phq9.py [V]: core items >= 2; other items
            # >= 2; the suicide item counts at >= 1.
            n_core = sum(1 for i in rule.core if (vals[self.index[i]] or 0) >= 2)
            n_other = sum(1 for i in rule.other if (vals[self.index[i]] or 0) >= 2)
            n_other += 1 if (vals[self.index[rule.item or ""]] or 0) >= 1 else 0
            n = n_core + n_other
            if rule.syndrome == "major":
                return n_core >= 1 and n >= 5
            return n_core >= 1 and 2 <= n <= 4
        if kind == "below_pre_dose":
            pre = context.pre_dose_score
            return pre is not None and total is not None and total < pre
        if thr is None:
            return False
        if kind == "item_at_least":
            v = vals[self.index[rule.item or ""]]
            return v is not None and v >= thr
        # Triage instruments (C-SSRS) have no total: a total rule never fires on them.
        if kind == "total_at_least":
            return total is not None and total >= thr
        if kind == "total_above":
            return total is not None and total > thr
        return total is not None and total <= thr  # total_at_most

    def score(
        self, answers: Sequence[object] | Mapping[str, object], context: ScoreContext
    ) -> ScoreResult:
        """Validate and score one response."""
        vals = self.normalise(answers)
        total, level = self.total(vals, context)
        band = self.band_of(total, level)
        code = band.code if band is not None else level
        flags = frozenset(
            f.id for f, thr in self.flags if self.flag_on(f, thr, vals, total, code, context)
        )
        subs = {
            sid: sum(
                s
                for i in idx
                if (v := vals[i]) is not None and (s := self.item_score(i, v)) is not None
            )
            for sid, idx in self.subscales
        }
        if self.inst.rule == "domains":
            for did, combine, idx in self.domains:
                if combine != "single":
                    got = [self.item_score(i, v) for i in idx if (v := vals[i]) is not None]
                    subs[did] = max((s for s in got if s is not None), default=0)
        complete = all(
            vals[n] is not None
            for n, above in self.conditional
            if total is not None and total > above
        )
        interp = self.inst.interpretation
        text = interp.get(code or "", band.label if band is not None else "")
        return ScoreResult(
            instrument_id=self.inst.id,
            version=self.inst.version,
            total=total,
            band=code,
            band_label=band.label if band is not None else None,
            flags=flags,
            subscales=MappingProxyType(subs),
            interpretation=text,
            complete=complete,
            answers=tuple(vals),
            variant=self.variant,
            band_set=self.band_set,
        )


@cache
def _default_compiled(instrument_id: str) -> Compiled:
    return Compiled(get_instrument(instrument_id), DEFAULT_CONFIG)


_config_cache: dict[tuple[str, Any], Compiled] = {}


def compiled(instrument_id: str, config: ScoringConfig | None = None) -> Compiled:
    """Return the compiled scorer for ``instrument_id`` under ``config`` (cached)."""
    if config is None or config is DEFAULT_CONFIG:
        return _default_compiled(instrument_id)
    key = (instrument_id, config.key_for(instrument_id))
    found = _config_cache.get(key)
    if found is None:
        if len(_config_cache) > 256:
            _config_cache.clear()
        found = _config_cache[key] = Compiled(get_instrument(instrument_id), config)
    return found


def score(
    instrument_id: str,
    answers: Sequence[object] | Mapping[str, object],
    config: ScoringConfig | None = None,
    context: ScoreContext | None = None,
) -> ScoreResult:
    """Score one response.

    Parameters
    ----------
    instrument_id : str
        A built-in instrument id (``phq9``, ``gad7``, ``qids-sr16``, ``hamd17`` ...).
    answers : sequence or mapping
        Integer answers in item order (``None`` for a blank item; trailing optional items may
        be omitted), or a mapping of item id to answer.
    config : ScoringConfig, optional
        Clinic overrides for configurable ([U]) bands and thresholds.
    context : ScoreContext, optional
        Interval since the last visit (C-SSRS since-last-visit) or pre-dose MOAA/S.

    Returns
    -------
    ScoreResult

    Raises
    ------
    InvalidAnswer
        Naming the item (``<instrument>.<item id>``) that is missing, of the wrong type, out
        of range, not asked, or in conflict with an alternative.

    Examples
    --------
    >>> r = score("phq9", [2, 0, 2, 2, 2, 0, 0, 0, 1])
    >>> (r.total, r.band, sorted(r.flags))
    (9, 'mild', ['item9_positive', 'major_depressive_syndrome'])
    >>> score("qids-sr16", [3, 3, 3, 3] + [0] * 12).total
    3
    >>> score("cssrs-screen-recent", {"1": 0, "2": 0, "6": 1, "6a": 0}).band
    'moderate'
    """
    return compiled(instrument_id, config).score(answers, context or _NO_CONTEXT)


def missing_items(instrument_id: str, answers: Mapping[str, object]) -> list[str]:
    """Every required item left blank, in item order (``score`` names only the first one).

    Required items, and items enabled by another answer (e.g. a follow-up asked only after
    a "yes"). Unknown keys are ignored here (``score`` refuses them).

    >>> missing_items("phq9", {"1": 1, "3": 0})
    ['2', '4', '5', '6', '7', '8', '9']
    """
    c = compiled(instrument_id)
    vals = [answers.get(i) for i in c.ids]
    out = {n for n, v in enumerate(vals) if v is None and c.required[n]}
    out |= {n for n, dep, equals in c.enable if vals[dep] == equals and vals[n] is None}
    return [c.ids[n] for n in sorted(out)]
