"""Per-clinic scoring configuration for the values the reference leaves open.

Everything tagged [U] in the clinical reference (and every cut-off it says to keep
configurable: PHQ-2 cut-off, MADRS and HAM-D band sets, CADSS ">4", BPRS convention, the
C-SSRS since-last-visit rule) can be changed here; the defaults are the reference's defaults.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments.loader import check_bands
from ketacare.domain.instruments.model import Band, FlagRule, Instrument

#: Default window (days) within which a since-last-visit C-SSRS behaviour "yes" counts as recent
#: (high risk). ketacare design decision, clinical reference §2.7 [U].
CSSRS_SLV_RECENT_DAYS = 92


@dataclass(frozen=True, slots=True)
class ScoringConfig:
    """Clinic overrides. All fields default to the reference's defaults.

    Attributes
    ----------
    band_sets : mapping of str to str
        Instrument id -> id of a shipped alternative band set, e.g.
        ``{"hamd17": "zimmerman2013", "madrs": "muller2003"}``.
    bands : mapping of str to tuple of Band
        Instrument id -> explicit bands (must cover the instrument's range without gaps).
    thresholds : mapping of str to float or None
        ``"<instrument>.<flag>"`` -> threshold of a configurable flag, e.g.
        ``{"phq2.positive_screen": 2, "cadss23.significant_dissociation": 4}``;
        ``None`` switches the flag off.
    variants : mapping of str to str
        Instrument id -> item-scoring convention, e.g. ``{"bprs-positive": "0-6"}``.
    cssrs_slv_recent_days : int
        Since-last-visit C-SSRS: a behaviour "yes" is high risk when the interval since the
        last visit is at most this many days or unknown; otherwise moderate [U].

    Examples
    --------
    >>> from ketacare.domain.instruments import score
    >>> score("phq2", [1, 1], ScoringConfig(thresholds={"phq2.positive_screen": 2})).flags
    frozenset({'positive_screen'})
    """

    band_sets: Mapping[str, str] = field(default_factory=dict)
    bands: Mapping[str, tuple[Band, ...]] = field(default_factory=dict)
    thresholds: Mapping[str, float | None] = field(default_factory=dict)
    variants: Mapping[str, str] = field(default_factory=dict)
    cssrs_slv_recent_days: int = CSSRS_SLV_RECENT_DAYS

    def key_for(self, instrument_id: str) -> Hashable:
        """The part of this configuration that affects one instrument (a cache key)."""
        prefix = instrument_id + "."
        return (
            self.band_sets.get(instrument_id),
            self.bands.get(instrument_id),
            tuple(sorted((k, v) for k, v in self.thresholds.items() if k.startswith(prefix))),
            self.variants.get(instrument_id),
            self.cssrs_slv_recent_days if instrument_id == "cssrs-screen-slv" else None,
        )


DEFAULT_CONFIG = ScoringConfig()


@dataclass(frozen=True, slots=True)
class ScoreContext:
    """Facts about the administration that some rules need.

    Attributes
    ----------
    days_since_last_visit : int or None
        C-SSRS since-last-visit screener: the interval the answers cover.
    pre_dose_score : int or None
        MOAA/S: the pre-dose level, for the label's ``sedation_any`` definition.
    """

    days_since_last_visit: int | None = None
    pre_dose_score: int | None = None


def resolve_bands(inst: Instrument, config: ScoringConfig) -> tuple[str | None, tuple[Band, ...]]:
    """Return (band-set id, bands) for ``inst`` under ``config``.

    Raises
    ------
    InvalidAnswer
        With field ``config.<instrument>`` when the configured set is unknown or malformed.
    """
    if inst.id in config.bands:
        bands = tuple(config.bands[inst.id])
        try:
            check_bands(bands, inst.range, inst.id)
        except ValueError as exc:
            raise InvalidAnswer(f"config.{inst.id}", str(exc)) from None
        return "clinic", bands
    bs = config.band_sets.get(inst.id, inst.default_band_set)
    if bs is None:
        return None, ()
    if bs not in inst.band_sets:
        raise InvalidAnswer(f"config.{inst.id}", f"unknown band set {bs!r}")
    return bs, inst.band_sets[bs].bands


def resolve_threshold(inst: Instrument, flag: FlagRule, config: ScoringConfig) -> float | None:
    """Return the threshold of ``flag`` under ``config`` (``None`` = flag off)."""
    key = f"{inst.id}.{flag.id}"
    if key in config.thresholds:
        if not flag.configurable:
            raise InvalidAnswer(f"config.{key}", "this threshold is not configurable")
        return config.thresholds[key]
    return flag.threshold


def resolve_offset(inst: Instrument, config: ScoringConfig) -> tuple[str | None, int]:
    """Return (variant id, answer offset) for ``inst`` under ``config``."""
    vid = config.variants.get(inst.id, inst.default_variant)
    if vid is None:
        return None, 0
    if vid not in inst.variants:
        raise InvalidAnswer(f"config.{inst.id}", f"unknown scoring convention {vid!r}")
    return vid, inst.variants[vid].offset


def config_from_dict(raw: Mapping[str, object]) -> ScoringConfig:
    """Build a :class:`ScoringConfig` from its JSON form (a clinic configuration file).

    Parameters
    ----------
    raw : mapping
        Keys ``band_sets``, ``bands`` (instrument id -> list of ``{code, label, min, max}``),
        ``thresholds``, ``variants`` and ``cssrs_slv_recent_days``; all optional.

    Raises
    ------
    InvalidAnswer
        Field ``config.<key>`` for an unknown key or a malformed value.

    Examples
    --------
    >>> config_from_dict({"band_sets": {"hamd17": "zimmerman2013"}}).band_sets
    {'hamd17': 'zimmerman2013'}
    """
    allowed = {"band_sets", "bands", "thresholds", "variants", "cssrs_slv_recent_days"}
    for key in raw:
        if key not in allowed:
            raise InvalidAnswer(f"config.{key}", "is not a configuration key")

    def mapping(key: str) -> Mapping[str, object]:
        value = raw.get(key, {})
        if not isinstance(value, Mapping):
            raise InvalidAnswer(f"config.{key}", "must be an object")
        return value

    try:
        bands = {
            iid: tuple(
                Band(str(b["code"]), str(b["label"]), int(b["min"]), int(b["max"]))
                for b in blist  # type: ignore[attr-defined]
            )
            for iid, blist in mapping("bands").items()
        }
        thresholds = {
            k: None if v is None else float(v)  # type: ignore[arg-type]
            for k, v in mapping("thresholds").items()
        }
        days = raw.get("cssrs_slv_recent_days", CSSRS_SLV_RECENT_DAYS)
        return ScoringConfig(
            band_sets={k: str(v) for k, v in mapping("band_sets").items()},
            bands=bands,
            thresholds=thresholds,
            variants={k: str(v) for k, v in mapping("variants").items()},
            cssrs_slv_recent_days=int(days),  # type: ignore[call-overload]
        )
    except InvalidAnswer:
        raise  # already names its key (``config.<key>``)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidAnswer("config", f"malformed configuration ({exc})") from None
