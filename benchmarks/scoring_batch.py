"""Vectorised scoring of many responses at once (NumPy).

Same rules as :func:`ketacare.domain.instruments.score`, applied column-wise; a test checks
that both agree on random responses for every instrument.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments.config import ScoringConfig
from ketacare.domain.instruments.scoring import Compiled, compiled

#: Marks an unanswered item in the input array.
MISSING = -1

IntArray = npt.NDArray[np.int32]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, slots=True)
class BatchResult:
    """Scores of ``n`` responses.

    Attributes
    ----------
    totals : ndarray of int32, shape (n,)
        Totals; ``-1`` for invalid rows and for the C-SSRS screeners (no total).
    band_codes : ndarray of int8, shape (n,)
        Index into ``band_names``; ``-1`` when invalid or when the instrument has no bands.
    band_names : tuple of str
        Band codes in order (lowest total first; C-SSRS: none, low, moderate, high).
    flags : mapping of str to ndarray of bool
        One mask per flag (flags that need a :class:`ScoreContext` are left out).
    valid : ndarray of bool
        False for rows that failed validation (only with ``on_invalid="mask"``).
    """

    totals: IntArray
    band_codes: npt.NDArray[np.int8]
    band_names: tuple[str, ...]
    flags: Mapping[str, BoolArray]
    valid: BoolArray


def _lut_scores(c: Compiled, n: int, col: npt.NDArray[np.integer]) -> npt.NDArray[np.int16]:
    """Scores of column ``col`` of item ``n``: -1 for blank, 0 for 'not assessed'."""
    table = np.array([0 if s is None else s for s in c.scores[n]] + [-1], dtype=np.int16)
    # Index -1 (blank) wraps to the trailing -1 entry of the table.
    idx = np.where(col == MISSING, len(table) - 1, col - c.lo[n])
    return table.take(idx)


def _check(
    c: Compiled, cols: npt.NDArray[np.integer]
) -> tuple[BoolArray, tuple[int, int, str] | None]:
    """Row validity mask, plus the first error as (row, item index, reason).

    ``cols`` holds one contiguous row per item (the transposed answer array).
    """
    n_rows = cols.shape[1]
    ok = np.ones(n_rows, dtype=np.bool_)
    first: tuple[int, int, str] | None = None

    def fail(mask: BoolArray, n: int, reason: str) -> None:
        nonlocal first
        if mask.any():
            row = int(np.argmax(mask))
            if first is None or row < first[0]:
                first = (row, n, reason)
            ok[mask] = False

    # Fast global range check first: the common all-valid case costs two reductions.
    if c.simple_sum and not c.enable and not c.groups and all(c.required[: cols.shape[0]]):
        lo, hi = min(c.lo), max(c.hi)
        if cols.size and int(cols.min()) >= lo and int(cols.max()) <= hi:
            return ok, None
    for n in range(cols.shape[0]):
        col = cols[n]
        blank = col == MISSING
        bad = ~blank & ((col < c.lo[n]) | (col > c.hi[n]))
        fail(bad, n, f"must be from {c.lo[n]} to {c.hi[n]}")
        if c.required[n]:
            fail(blank, n, "is missing")
    for n, dep, equals in c.enable:
        on = cols[dep] == equals
        fail(on & (cols[n] == MISSING), n, "is missing")
        fail(~on & (cols[n] != MISSING) & (cols[n] != c.lo[n]), n, "was not asked; leave it blank")
    for idx, gmin, gmax, _ in c.groups:
        answered = np.add.reduce([cols[i] != MISSING for i in idx], dtype=np.int16)
        fail(answered < gmin, idx[0], "answer one of the alternatives")
        fail(answered > gmax, idx[-1], "rate only one of the alternatives")
    return ok, first


def score_batch(
    instrument_id: str,
    answers_2d: npt.ArrayLike,
    config: ScoringConfig | None = None,
    on_invalid: Literal["raise", "mask"] = "raise",
) -> BatchResult:
    """Score a 2-D array of responses (one row per response, one column per item).

    Parameters
    ----------
    instrument_id : str
        A built-in instrument id.
    answers_2d : array_like of int, shape (n, k)
        Answers in item order; ``-1`` marks a blank item. Trailing optional items may be
        omitted (PHQ-9 accepts 9 or 10 columns).
    config : ScoringConfig, optional
        Clinic overrides, as for ``score``.
    on_invalid : {"raise", "mask"}
        ``"raise"`` raises on the first invalid row; ``"mask"`` marks invalid rows in
        ``valid`` and gives them total and band ``-1``.

    Returns
    -------
    BatchResult

    Raises
    ------
    InvalidAnswer
        Naming the item and the row (0-based) of the first invalid answer.

    Examples
    --------
    >>> r = score_batch("phq9", [[0] * 9, [3] * 9])
    >>> r.totals.tolist(), [r.band_names[b] for b in r.band_codes]
    ([0, 27], ['none', 'severe'])
    """
    c = compiled(instrument_id, config)
    a = np.asarray(answers_2d)
    if a.ndim != 2 or not np.issubdtype(a.dtype, np.integer):
        raise InvalidAnswer(instrument_id, "answers must be a 2-D integer array")
    n_items = len(c.ids)
    if not c.min_len <= a.shape[1] <= n_items:
        raise InvalidAnswer(instrument_id, f"must have {c.min_len} to {n_items} columns")
    # One contiguous row per item: every later step is a fast 1-D operation.
    cols = np.ascontiguousarray(a.T)
    if cols.shape[0] < n_items:
        pad = np.full((n_items - cols.shape[0], cols.shape[1]), MISSING, dtype=cols.dtype)
        cols = np.vstack([cols, pad])
    ok, first = _check(c, cols)
    if first is not None and on_invalid == "raise":
        row, n, reason = first
        raise InvalidAnswer(c.prefix + c.ids[n], f"row {row}: {reason}")
    totals, level = _totals(c, cols)
    band_names = tuple(b.code for b in c.bands)
    if level is not None:
        codes = level
    elif c.bands and c.range is not None:
        lo, hi = c.range
        lut = np.empty(hi - lo + 1, dtype=np.int8)
        for k, b in enumerate(c.bands):
            lut[(b.min or 0) - lo : (b.max or 0) - lo + 1] = k
        idx = totals - lo if lo else totals
        codes = lut.take(np.clip(idx, 0, hi - lo) if first is not None else idx)
    else:
        codes = np.full(cols.shape[1], -1, dtype=np.int8)
    flags = _flags(c, cols, totals, codes, band_names)
    if first is not None:
        totals = np.where(ok, totals, -1)
        codes = np.where(ok, codes, -1).astype(np.int8)
        flags = {k: v & ok for k, v in flags.items()}
    return BatchResult(totals.astype(np.int32), codes, band_names, flags, ok)


def _totals(
    c: Compiled, cols: npt.NDArray[np.integer]
) -> tuple[npt.NDArray[np.int16], npt.NDArray[np.int8] | None]:
    rule = c.inst.rule
    n_rows = cols.shape[1]
    if c.simple_sum:
        total = cols[c.sum_idx[0]].astype(np.int16)
        for n in c.sum_idx[1:]:
            total += cols[n]
        return total, None
    if rule in ("sum", "domains"):
        total = np.zeros(n_rows, dtype=np.int16)
        for _, _, idx in c.domains:
            best = _lut_scores(c, idx[0], cols[idx[0]])
            for n in idx[1:]:
                best = np.maximum(best, _lut_scores(c, n, cols[n]))
            total += np.maximum(best, 0)
        return total, None
    col = {i: cols[n] == 1 for n, i in enumerate(c.ids)}
    if rule == "cssrs_triage":
        recent, old = col["6"] & col["6a"], col["6"] & ~col["6a"]
    else:
        # A batch has no per-row interval: the interval is treated as unknown, i.e. recent.
        recent, old = col["6"], np.zeros_like(col["6"])
    level = np.where(
        col["4"] | col["5"] | recent,
        3,
        np.where(col["3"] | old, 2, np.where(col["1"] | col["2"], 1, 0)),
    ).astype(np.int8)
    return np.full(n_rows, -1, dtype=np.int16), level


def _count(masks: list[BoolArray]) -> npt.NDArray[np.int8]:
    out = masks[0].astype(np.int8)
    for m in masks[1:]:
        out += m
    return out


def _flags(
    c: Compiled,
    cols: npt.NDArray[np.integer],
    totals: npt.NDArray[np.int16],
    codes: npt.NDArray[np.int8],
    names: tuple[str, ...],
) -> dict[str, BoolArray]:
    out: dict[str, BoolArray] = {}
    n_rows = cols.shape[1]
    for f, thr in c.flags:
        kind = f.kind
        if kind == "band_is":
            out[f.id] = codes == names.index(f.band or "")
        elif kind == "item_equals_any":
            out[f.id] = np.logical_or.reduce([cols[c.index[i]] == f.value for i in f.items])
        elif kind == "phq_syndrome":
            core = _count([cols[c.index[i]] >= 2 for i in f.core])
            n = core + _count([cols[c.index[i]] >= 2 for i in f.other])
            n += cols[c.index[f.item or ""]] >= 1
            if f.syndrome == "major":
                out[f.id] = (core >= 1) & (n >= 5)
            else:
                out[f.id] = (core >= 1) & (n >= 2) & (n <= 4)
        elif kind == "below_pre_dose":
            continue
        elif thr is None:
            out[f.id] = np.zeros(n_rows, dtype=np.bool_)
        elif kind == "item_at_least":
            out[f.id] = cols[c.index[f.item or ""]] >= thr
        elif kind == "total_at_least":
            out[f.id] = totals >= thr
        elif kind == "total_above":
            out[f.id] = totals > thr
        else:
            out[f.id] = totals <= thr
    return out
