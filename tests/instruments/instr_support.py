"""Helpers for the instrument tests: test-data paths and Hypothesis strategies."""

from __future__ import annotations

from hypothesis import strategies as st

from ketacare.domain.instruments import Instrument

#: Third-party fixtures live in tests/data/ (origin and licence in its README).
from tests.data_files import QUESTIONNAIRES

LFORMS_PHQ9 = QUESTIONNAIRES / "lforms-phq9-r4.json"


@st.composite
def responses(draw: st.DrawFn, inst: Instrument, offset: int = 0) -> list[int | None]:
    """A valid answer list (item order) for ``inst``."""
    vals: list[int | None] = [
        draw(st.integers(it.min_value + offset, it.max_value + offset)) for it in inst.items
    ]
    index = {it.id: n for n, it in enumerate(inst.items)}
    for n, it in enumerate(inst.items):
        optional = not it.required and it.enable_when is None
        if optional and not any(it.id in g.items for g in inst.groups) and draw(st.booleans()):
            vals[n] = None
    for g in inst.groups:
        keep = draw(st.sampled_from([[0], [1]] + ([[0, 1]] if g.max >= 2 else [])))
        for k, item_id in enumerate(g.items):
            if k not in keep:
                vals[index[item_id]] = None
    for n, it in enumerate(inst.items):
        if it.enable_when is not None and vals[index[it.enable_when[0]]] != it.enable_when[1]:
            vals[n] = None
    return vals
