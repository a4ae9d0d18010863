"""Words people read instead of stored codes: severity bands, instrument names, session
timepoints, counts. Pages use them through the template environment (``_kit.templating``);
services that write text (the session's discharge reasons, notes) import them from here,
without the web framework."""

from __future__ import annotations

from ketacare.domain.errors import DomainError
from ketacare.domain.instruments import get_instrument

__all__ = ["BAND_LABELS", "CODE_LABELS", "code_label", "instrument_label", "plural"]

BAND_LABELS = {
    "none": "None–minimal",
    "mild": "Mild",
    "moderate": "Moderate",
    "moderately_severe": "Moderately severe",
    "severe": "Severe",
}

#: Words people read instead of stored codes (session timepoints, plan phases, flags).
CODE_LABELS = {
    "pre_dose": "pre-dose",
    "post_dose": "post-dose",
    "peak": "peak (~40 min)",
    "discharge": "before discharge",
    "end_of_induction": "end of induction",
}


def instrument_label(instrument_id: str | None) -> str:
    """``phq9`` -> ``PHQ-9``, ``cadss6`` -> ``CADSS-6`` (the id itself when unknown)."""
    if not instrument_id:
        return ""
    try:
        return get_instrument(instrument_id).short_name
    except (DomainError, KeyError, ValueError):
        return instrument_id


def code_label(code: str | None) -> str:
    """A stored code as words: ``pre_dose`` -> ``pre-dose``, other ``a_b`` -> ``a b``."""
    if not code:
        return ""
    return CODE_LABELS.get(code, code.replace("_", " "))


def plural(n: int, one: str, many: str | None = None) -> str:
    """``1 assessment``, ``2 assessments``."""
    return f"{n} {one if n == 1 else (many or one + 's')}"
