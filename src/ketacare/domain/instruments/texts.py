"""Clinic-supplied item text for instruments whose text ketacare may not ship.

MADRS, QIDS-SR16, the C-SSRS screeners and the CADSS ship item ids and short domain labels
only (clinical reference §1). A clinic that holds a licence may load its own text as
configuration: a JSON object (or dict) mapping item id to text, validated here against the
instrument. Scoring never depends on the text.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments.loader import get_instrument
from ketacare.domain.instruments.model import Instrument

MAX_TEXT_CHARS = 2000


def with_item_texts(instrument_id: str, texts: Mapping[str, object] | str) -> Instrument:
    """Return the instrument with clinic-licensed item text applied.

    Parameters
    ----------
    instrument_id : str
        A built-in instrument id.
    texts : mapping or str
        ``{item id: text}``, or the same as a JSON string. Items not listed keep their
        current text (or none).

    Returns
    -------
    Instrument
        A copy; the built-in definition is unchanged.

    Raises
    ------
    InvalidAnswer
        Field ``texts`` for malformed JSON, ``texts.<item id>`` for an unknown item or an
        empty, non-string or over-long text.

    Examples
    --------
    >>> inst = with_item_texts("madrs", {"1": "Clinic-licensed wording for item 1"})
    >>> inst.item("1").text
    'Clinic-licensed wording for item 1'
    """
    inst = get_instrument(instrument_id)
    if isinstance(texts, str):
        try:
            texts = json.loads(texts)
        except json.JSONDecodeError as exc:
            raise InvalidAnswer("texts", f"is not valid JSON ({exc.msg})") from None
    if not isinstance(texts, Mapping):
        raise InvalidAnswer("texts", "must be a JSON object mapping item id to text")
    ids = set(inst.item_ids)
    for key, value in texts.items():
        if key not in ids:
            raise InvalidAnswer(f"texts.{key}", f"is not an item of {instrument_id}")
        if not isinstance(value, str) or not value.strip():
            raise InvalidAnswer(f"texts.{key}", "must be a non-empty string")
        if len(value) > MAX_TEXT_CHARS:
            raise InvalidAnswer(f"texts.{key}", f"is longer than {MAX_TEXT_CHARS} characters")
    items = tuple(
        dataclasses.replace(it, text=str(texts[it.id])) if it.id in texts else it
        for it in inst.items
    )
    return dataclasses.replace(inst, items=items)
