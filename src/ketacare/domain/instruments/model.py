"""Immutable instrument definitions: items, answer options, scoring rule, bands and flags.

The definitions themselves live as versioned JSON files in ``data/`` (see ``loader.py``);
these dataclasses are their validated, typed form. Facts and their verification tags
([V] verified, [S] secondary source, [U] unverified and configurable) come from the
ketacare clinical reference, §1-§2.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

ScoringRule = Literal["sum", "domains", "cssrs_triage", "cssrs_triage_slv"]
Combine = Literal["single", "max", "one_of"]
FlagKind = Literal[
    "item_at_least",
    "item_equals_any",
    "total_at_least",
    "total_above",
    "total_at_most",
    "band_is",
    "phq_syndrome",
    "below_pre_dose",
]
Verification = Literal["V", "S", "U"]


@dataclass(frozen=True, slots=True)
class AnswerOption:
    """One answer option.

    Attributes
    ----------
    value : int
        The integer recorded for this answer (what ``score()`` receives).
    label : str
        Short display label.
    score : int or None
        Contribution to the total; ``None`` means "not assessed" and adds nothing
        (HAM-D item 16 value 3, Hamilton 1960 as implemented by CamCOPS).
    loinc : str or None
        LOINC answer code (``LA...``) where one exists.
    """

    value: int
    label: str
    score: int | None
    loinc: str | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One item of an instrument.

    Attributes
    ----------
    id : str
        Item id, unique in the instrument (errors name it as ``<instrument>.<id>``).
    label : str
        Short domain label. For instruments whose text may not ship this is the only label.
    options : tuple of AnswerOption
        Allowed answers, contiguous integer values in ascending order.
    text : str or None
        Full item text where the licence allows it, or when a clinic loaded licensed text.
    loinc : str or None
        LOINC item code where one exists.
    scored : bool
        False for items never added to the total (PHQ-9 item 10).
    required : bool
        False for items that may be left blank (alternatives, conditional items).
    required_if_total_above : int or None
        Completeness: the item is expected when the total exceeds this value.
    enable_when : tuple of (str, int) or None
        The item is asked only when item ``[0]`` has value ``[1]`` (C-SSRS skip logic).
    """

    id: str
    label: str
    options: tuple[AnswerOption, ...]
    text: str | None = None
    loinc: str | None = None
    scored: bool = True
    required: bool = True
    required_if_total_above: int | None = None
    enable_when: tuple[str, int] | None = None

    @property
    def min_value(self) -> int:
        """Smallest allowed answer value."""
        return self.options[0].value

    @property
    def max_value(self) -> int:
        """Largest allowed answer value."""
        return self.options[-1].value


@dataclass(frozen=True, slots=True)
class Domain:
    """A scored domain: one item, the max of several, or exactly one of alternatives."""

    id: str
    label: str
    items: tuple[str, ...]
    combine: Combine


@dataclass(frozen=True, slots=True)
class ItemGroup:
    """Between ``min`` and ``max`` of ``items`` must be answered (QIDS 6/7, HAM-D 16A/16B)."""

    items: tuple[str, ...]
    min: int
    max: int
    label: str


@dataclass(frozen=True, slots=True)
class Band:
    """A severity band; ``min``/``max`` are inclusive totals (``None`` for C-SSRS levels)."""

    code: str
    label: str
    min: int | None = None
    max: int | None = None
    severe: bool = False


@dataclass(frozen=True, slots=True)
class BandSet:
    """A named, sourced set of bands; one is the default, the others are clinic options."""

    id: str
    source: str
    verification: Verification
    bands: tuple[Band, ...]


@dataclass(frozen=True, slots=True)
class FlagRule:
    """A boolean rule raised on a scored result.

    Attributes
    ----------
    id : str
        Flag name, e.g. ``"item9_positive"``.
    kind : FlagKind
        How it is evaluated (item threshold, total threshold, band, PHQ syndrome ...).
    threshold : float or None
        For threshold kinds; ``None`` disables the flag. Configurable when ``configurable``.
    safety : bool
        True for flags that call for clinical follow-up (used by ``domain.alerts``).
    """

    id: str
    kind: FlagKind
    description: str
    source: str
    verification: Verification
    item: str | None = None
    items: tuple[str, ...] = ()
    threshold: float | None = None
    value: int | None = None
    band: str | None = None
    syndrome: str | None = None
    core: tuple[str, ...] = ()
    other: tuple[str, ...] = ()
    safety: bool = False
    configurable: bool = False


@dataclass(frozen=True, slots=True)
class Subscale:
    """A named partial sum of items."""

    id: str
    label: str
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Variant:
    """An item-scoring convention (BPRS 1-7 vs 0-6): answers and total shift by ``offset``."""

    id: str
    offset: int
    description: str


@dataclass(frozen=True, slots=True)
class Licence:
    """Licence status of the item text (clinical reference §1)."""

    item_text: Literal["shipped", "withheld"]
    note: str
    attribution: str | None = None
    loinc_notice: str | None = None


@dataclass(frozen=True, slots=True)
class Threshold:
    """A sourced cut-off (remission, MCID) with named alternatives."""

    default: float
    source: str
    alternatives: Mapping[str, float]


@dataclass(frozen=True)
class Instrument:
    """A validated instrument definition (see ``loader.load_instrument``)."""

    id: str
    version: str
    name: str
    short_name: str
    administration: str
    recall_period: str | None
    citation: str
    licence: Licence
    loinc_panel: str | None
    loinc_total: str | None
    loinc_verification: Verification
    items: tuple[Item, ...]
    groups: tuple[ItemGroup, ...]
    rule: ScoringRule
    domains: tuple[Domain, ...]
    scoring_description: str
    range: tuple[int, int] | None
    direction: Literal["higher_is_worse", "lower_is_worse"]
    band_sets: Mapping[str, BandSet]
    default_band_set: str | None
    completeness: str
    flags: tuple[FlagRule, ...]
    subscales: tuple[Subscale, ...]
    interpretation: Mapping[str, str]
    unverified: tuple[str, ...]
    variants: Mapping[str, Variant]
    default_variant: str | None
    remission: Threshold | None = None
    mcid: Threshold | None = None

    def item(self, item_id: str) -> Item:
        """Return the item with this id (``KeyError`` if absent)."""
        for it in self.items:
            if it.id == item_id:
                return it
        raise KeyError(item_id)

    @property
    def item_ids(self) -> tuple[str, ...]:
        """Item ids in form order."""
        return tuple(it.id for it in self.items)

    @property
    def bands(self) -> tuple[Band, ...]:
        """Bands of the default band set (empty when the instrument has none)."""
        if self.default_band_set is None:
            return ()
        return self.band_sets[self.default_band_set].bands
