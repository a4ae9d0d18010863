"""Instrument library: versioned definitions and pure scoring.

Twelve instruments ship as JSON data (``data/*.json``), validated on load: PHQ-9, PHQ-2,
GAD-7, QIDS-SR16, MADRS, HAM-D17, C-SSRS screeners (recent, since last visit), CADSS-6,
CADSS-23, MOAA/S and the BPRS positive subscale. Rules and sources follow the ketacare clinical
reference §1-§2; values tagged [U] there are configurable through :class:`ScoringConfig`.

Examples
--------
>>> from ketacare.domain.instruments import score
>>> r = score("gad7", [1, 1, 1, 1, 1, 0, 0])
>>> r.total, r.band
(5, 'mild')
"""

from __future__ import annotations

from ketacare.domain.instruments.config import (
    CSSRS_SLV_RECENT_DAYS,
    DEFAULT_CONFIG,
    ScoreContext,
    ScoringConfig,
    config_from_dict,
)
from ketacare.domain.instruments.loader import (
    InstrumentDefinitionError,
    get_instrument,
    instrument_ids,
    parse_instrument,
)
from ketacare.domain.instruments.model import (
    AnswerOption,
    Band,
    BandSet,
    FlagRule,
    Instrument,
    Item,
)
from ketacare.domain.instruments.scoring import ScoreResult, score
from ketacare.domain.instruments.texts import with_item_texts

__all__ = [
    "CSSRS_SLV_RECENT_DAYS",
    "DEFAULT_CONFIG",
    "AnswerOption",
    "Band",
    "BandSet",
    "FlagRule",
    "Instrument",
    "InstrumentDefinitionError",
    "Item",
    "ScoreContext",
    "ScoreResult",
    "ScoringConfig",
    "config_from_dict",
    "get_instrument",
    "instrument_ids",
    "parse_instrument",
    "score",
    "with_item_texts",
]
