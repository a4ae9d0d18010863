"""Vectorised per-patient outcomes over a whole clinic.

The rules are those of :mod:`ketacare.domain.mbc.outcomes` (baseline, response, remission,
SUSTAIN-1-style relapse), applied to every patient at once: rows are sorted by patient and
time, and each per-patient quantity is a segment reduction (``np.minimum.reduceat`` ...).
``tests/analytics`` checks the result against the per-patient functions of that module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ketacare.domain.analytics.cohort import AssessmentTable, PatientTable, SessionTable
from ketacare.domain.analytics.definitions import AnalyticsConfig, age_band_labels, relapse_rule
from ketacare.domain.mbc.outcomes import remission_threshold

__all__ = ["PatientOutcomes", "compute_patient_outcomes"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]
B = NDArray[np.bool_]
DAY = 86400
_BIG = np.iinfo(np.int64).max


@dataclass(frozen=True, slots=True)
class PatientOutcomes:
    """One entry per treated patient (sorted by ``patient_id``); days are since the first
    session; NaN means "did not happen / not observed".

    Attributes
    ----------
    patient_id : NDArray
        Treated patients (at least one session).
    first_session : NDArray[np.datetime64]
        Time of the first session (day 0).
    protocol, sex, age_band : NDArray[np.str_]
        Protocol of the first session; sex and age band ("unknown" when not given).
    n_sessions : NDArray[np.int64]
        All sessions of the patient.
    induction_completed : NDArray[np.bool_]
        The protocol's induction sessions all fell inside its window.
    end_of_induction_day : NDArray[np.float64]
        Day of the last induction session.
    baseline_total, baseline_day : NDArray[np.float64]
        Baseline total (points) and its day (<= 0).
    analysable : NDArray[np.bool_]
        Has a valid baseline (present, > 0, and within the configured limits).
    eoi_total, eoi_day : NDArray[np.float64]
        End-of-induction assessment.
    timepoint_total, timepoint_day : NDArray[np.float64]
        Shape ``(n_patients, n_timepoints)``: the assessment used for each fixed day.
    response_day, remission_day : NDArray[np.float64]
        First assessment meeting response / remission (analysable patients only).
    last_day : NDArray[np.float64]
        Last assessment after the first session.
    relapse_day : NDArray[np.float64]
        Relapse after the first response (or remission), dated by the relapse rule.
    """

    patient_id: NDArray[Any]
    first_session: NDArray[np.datetime64]
    protocol: NDArray[np.str_]
    sex: NDArray[np.str_]
    age_band: NDArray[np.str_]
    n_sessions: I64
    induction_completed: B
    end_of_induction_day: F64
    baseline_total: F64
    baseline_day: F64
    analysable: B
    eoi_total: F64
    eoi_day: F64
    timepoint_total: F64
    timepoint_day: F64
    response_day: F64
    remission_day: F64
    last_day: F64
    relapse_day: F64
    n_assessments_untreated: int

    def __len__(self) -> int:
        return int(self.n_sessions.size)


def _sorted_order(pid: NDArray[Any], t: I64) -> I64 | None:
    """``None`` when rows are already ordered by (patient, time), else the sorting order.

    Integer ids are sorted through one packed int64 key (much faster than ``np.lexsort``);
    other ids fall back to ``np.lexsort``. Both keep the input order of exact ties.
    """
    if pid.size < 2:
        return None
    up = pid[1:] > pid[:-1]
    same = pid[1:] == pid[:-1]
    if bool(np.all(up | (same & (t[1:] >= t[:-1])))):
        return None
    if np.issubdtype(pid.dtype, np.integer):
        p0, t0 = int(pid.min()), int(t.min())
        p_bits = (int(pid.max()) - p0).bit_length()
        t_bits = (int(t.max()) - t0).bit_length()
        if p_bits + t_bits <= 62:
            key = ((pid.astype(np.int64) - p0) << t_bits) | (t - t0)
            packed: I64 = np.argsort(key, kind="stable")
            return packed
    order: I64 = np.lexsort((t, pid))
    return order


def _segments(pid: NDArray[Any]) -> I64:
    """Start index of each run of equal ids in a sorted array."""
    if pid.size == 0:
        return np.zeros(0, np.int64)
    starts: I64 = np.flatnonzero(np.concatenate([[True], pid[1:] != pid[:-1]])).astype(np.int64)
    return starts


def _bisect_right(values: I64, lo: I64, hi: I64, target: I64) -> I64:
    """Per segment ``[lo, hi)`` of the sorted ``values``, the insertion point of ``target``
    after equal values (``bisect_right``), all segments at once."""
    lo, hi = lo.copy(), hi.copy()
    last = max(values.size - 1, 0)
    while True:
        active = lo < hi
        if not active.any():
            return lo
        mid = (lo + hi) >> 1
        right = (values[np.minimum(mid, last)] <= target) & active
        lo = np.where(right, mid + 1, lo)
        hi = np.where(active & ~right, mid, hi)


def _days(seconds: I64) -> F64:
    out: F64 = np.where(seconds == _BIG, np.nan, seconds / DAY)
    return out


def _gather(values: F64, rows: I64) -> F64:
    """``values[rows]`` with ``-1`` meaning "none" (NaN)."""
    out: F64 = np.where(rows >= 0, values[np.maximum(rows, 0)], np.nan)
    return out


def compute_patient_outcomes(
    assessments: AssessmentTable,
    sessions: SessionTable,
    patients: PatientTable | None = None,
    config: AnalyticsConfig | None = None,
) -> PatientOutcomes:
    """Compute every per-patient outcome of one instrument for a whole clinic.

    Parameters
    ----------
    assessments : AssessmentTable
        Totals of one instrument; rows of patients without a session are ignored (counted in
        ``n_assessments_untreated``).
    sessions : SessionTable
        Treatment sessions; the first one is day 0 and sets the patient's protocol.
    patients : PatientTable, optional
        Sex and age for breakdowns.
    config : AnalyticsConfig, optional
        Rules; defaults from the clinical reference.

    Returns
    -------
    PatientOutcomes
    """
    cfg = config or AnalyticsConfig()
    # --- sessions: first session, protocol, induction -------------------------------------
    s_pid, s_t = sessions.patient_id, sessions.when.astype(np.int64)
    s_proto = sessions.protocol
    order = _sorted_order(s_pid, s_t)
    if order is not None:
        s_pid, s_t, s_proto = s_pid[order], s_t[order], s_proto[order]
    s_start = _segments(s_pid)
    n_p = s_start.size
    uniq = s_pid[s_start]
    n_sess = np.diff(np.append(s_start, s_pid.size)).astype(np.int64)
    t0 = s_t[s_start]
    proto = s_proto[s_start]
    u_proto, p_inv = np.unique(proto, return_inverse=True)
    rules = [cfg.induction.get(str(p), cfg.fallback_induction) for p in u_proto]
    need = np.array([r.sessions for r in rules], np.int64)[p_inv]
    window = (np.array([r.window_days for r in rules], np.float64) * DAY)[p_inv]
    s_rel = s_t - np.repeat(t0, n_sess)
    in_win = s_rel <= np.repeat(window, n_sess)
    n_in = np.add.reduceat(in_win, s_start, dtype=np.int64) if n_p else np.zeros(0, np.int64)
    completed = n_in >= need
    eoi_row = s_start + np.where(completed, need, n_in) - 1
    eoi_rel = s_rel[eoi_row] if n_p else np.zeros(0, np.int64)

    # --- assessments: map rows to treated patients --------------------------------------
    a_pid, a_t, tot = assessments.patient_id, assessments.when.astype(np.int64), assessments.total
    order = _sorted_order(a_pid, a_t)
    if order is not None:
        a_pid, a_t, tot = a_pid[order], a_t[order], tot[order]
    a_start = _segments(a_pid)
    a_len = np.diff(np.append(a_start, a_pid.size))
    pos = np.searchsorted(uniq, a_pid[a_start]) if n_p else np.zeros(a_start.size, np.int64)
    matched = (pos < n_p) & (uniq[np.minimum(pos, max(n_p - 1, 0))] == a_pid[a_start])
    untreated = int(a_len[~matched].sum()) if a_start.size else 0
    if untreated:
        keep = np.repeat(matched, a_len)
        a_t, tot = a_t[keep], tot[keep]
        pos, a_len = pos[matched], a_len[matched]
        a_start = np.concatenate([[0], np.cumsum(a_len)[:-1]]).astype(np.int64)
    seg_pat = pos.astype(np.int64)  # patient index of each assessment segment
    n_rows = int(tot.size)
    a_end = a_start + a_len - 1
    t0_seg = t0[seg_pat]  # day 0 of each segment, absolute seconds

    def seg_min(values: I64) -> I64:
        out: I64 = np.minimum.reduceat(values, a_start) if n_rows else np.zeros(0, np.int64)
        return out

    def scatter(seg_values: F64) -> F64:
        out = np.full(n_p, np.nan)
        out[seg_pat] = seg_values
        return out

    def at(rows: I64, values: NDArray[Any]) -> F64:
        """``values[rows]`` per segment as float, NaN where ``rows`` is -1, scattered."""
        return scatter(_gather(values, rows))

    def day_at(rows: I64) -> F64:
        got = a_t[np.maximum(rows, 0)] - t0_seg if n_rows else np.zeros(0, np.int64)
        return scatter(np.where(rows >= 0, got / DAY, np.nan))

    def last_at_or_before(offset: I64 | int) -> I64:
        """Row of each segment's last assessment at or before day 0 + ``offset`` seconds."""
        pos = _bisect_right(a_t, a_start, a_end + 1, t0_seg + offset) - 1
        out: I64 = np.where(pos >= a_start, pos, -1)
        return out

    # --- baseline -----------------------------------------------------------------------
    last_pre = last_at_or_before(0)  # the first post-baseline row is last_pre + 1
    first_post = np.where(last_pre >= 0, last_pre + 1, a_start)
    has_post = first_post <= a_end
    if cfg.baseline == "last_before_first_session":
        b_row = last_pre
    else:
        b_row = np.where(last_pre >= 0, a_start, -1)
    b_tot_s = _gather(tot, b_row)
    b_day_s = day_at(b_row)[seg_pat] if n_rows else b_tot_s
    ok_s = (b_row >= 0) & (b_tot_s > 0)
    if cfg.baseline_max_days_before is not None:
        ok_s &= b_day_s >= -cfg.baseline_max_days_before
    if cfg.min_baseline_total is not None:
        ok_s &= b_tot_s >= cfg.min_baseline_total
    analysable = np.zeros(n_p, bool)
    analysable[seg_pat] = ok_s

    # --- row-level outcome flags (same arithmetic as outcomes.is_response / is_remission) --
    # One repeat gives each row its baseline, NaN on baseline-period rows and for patients
    # without a valid baseline, so those rows can never meet response or remission.
    fill = np.empty(2 * seg_pat.size)
    fill[0::2], fill[1::2] = np.nan, np.where(ok_s, b_tot_s, np.nan)
    runs = np.empty(2 * seg_pat.size, np.int64)
    runs[0::2], runs[1::2] = first_post - a_start, a_end + 1 - first_post
    base_row = np.repeat(fill, runs)
    with np.errstate(invalid="ignore", divide="ignore"):
        resp = (base_row - tot) / base_row >= cfg.outcome.response_reduction
    cut = remission_threshold(assessments.instrument, cfg.outcome)
    rem = (tot <= cut) & ~np.isnan(base_row) if cut is not None else np.zeros(n_rows, bool)
    first_resp = seg_min(np.where(resp, a_t, _BIG))
    first_rem = seg_min(np.where(rem, a_t, _BIG))
    first_resp = np.where(first_resp == _BIG, _BIG, first_resp - t0_seg)
    first_rem = np.where(first_rem == _BIG, _BIG, first_rem - t0_seg)
    last_rel = np.where(has_post, a_t[a_end] - t0_seg, _BIG) if n_rows else a_end

    # --- fixed timepoints: nearest post-baseline assessment within the window ------------
    n_tp = len(cfg.timepoints_days)
    tp_tot, tp_day = np.full((n_p, n_tp), np.nan), np.full((n_p, n_tp), np.nan)
    w = round(cfg.timepoint_window_days * DAY)
    for j, d in enumerate(cfg.timepoints_days):
        target = round(d * DAY)
        below = last_at_or_before(target - 1)  # last row strictly before the target
        above = np.maximum(below + 1, a_start)  # first row at or after the target
        below = np.where(below >= first_post, below, -1)
        above = np.where(above <= a_end, above, -1)
        rel_b = a_t[np.maximum(below, 0)] - t0_seg if n_rows else below
        rel_a = (
            a_t[np.minimum(np.maximum(above, 0), max(n_rows - 1, 0))] - t0_seg if n_rows else above
        )
        d_below = np.where(below >= 0, target - rel_b, _BIG)
        d_above = np.where(above >= 0, rel_a - target, _BIG)
        rows = np.where(d_below <= d_above, below, above)  # ties: the earlier one
        rows = np.where(np.minimum(d_below, d_above) <= w, rows, -1)
        tp_tot[:, j] = at(rows, tot)
        tp_day[:, j] = day_at(rows)

    # --- end of induction: last assessment up to the last induction session + grace ------
    grace = round(cfg.induction_grace_days * DAY)
    e_rows = last_at_or_before(eoi_rel[seg_pat] + grace)
    e_rows = np.where(e_rows >= first_post, e_rows, -1)

    # --- relapse after the first response (or remission) --------------------------------
    origin = first_resp if cfg.relapse_origin == "response" else first_rem
    rule = relapse_rule(assessments.instrument, cfg.outcome)
    relapse = np.full(seg_pat.size, _BIG, np.int64)
    if rule is not None and n_rows > 1:
        hi = tot >= rule.threshold
        i = np.flatnonzero(hi[:-1] & hi[1:])  # candidate pairs (i, i + 1), then narrow down
        starts = np.zeros(n_rows, bool)
        starts[a_start] = True
        i = i[~starts[i + 1]]  # same patient
        gap = a_t[i + 1] - a_t[i]
        i = i[(gap >= rule.min_gap_days * DAY) & (gap <= rule.max_gap_days * DAY)]
        seg_of = np.searchsorted(a_start, i, side="right") - 1
        after = a_t[i] - t0_seg[seg_of] > origin[seg_of]
        i, seg_of = i[after], seg_of[after]
        when = a_t[i + 1] if rule.date_on == "second" else a_t[i]
        np.minimum.at(relapse, seg_of, when - t0_seg[seg_of])

    # --- patient attributes --------------------------------------------------------------
    sex = np.full(n_p, "unknown", dtype=object)
    band = np.full(n_p, "unknown", dtype=object)
    if patients is not None and patients.patient_id.size and n_p:
        ppos = np.searchsorted(uniq, patients.patient_id)
        hit = (ppos < n_p) & (uniq[np.minimum(ppos, n_p - 1)] == patients.patient_id)
        sx = np.where(patients.sex == "", "unknown", np.char.lower(patients.sex))
        sex[ppos[hit]] = sx[hit]
        labels = np.array(age_band_labels(cfg.age_bands), dtype=object)
        idx = np.searchsorted(np.asarray(cfg.age_bands, np.float64), patients.age_years, "right")
        lab = np.where(np.isnan(patients.age_years), "unknown", labels[idx])
        band[ppos[hit]] = lab[hit]

    return PatientOutcomes(
        patient_id=uniq,
        first_session=t0.astype("datetime64[s]"),
        protocol=proto,
        sex=sex.astype(str),
        age_band=band.astype(str),
        n_sessions=n_sess,
        induction_completed=completed,
        end_of_induction_day=eoi_rel / DAY,
        baseline_total=np.where(analysable, scatter(b_tot_s), np.nan),
        baseline_day=scatter(b_day_s),
        analysable=analysable,
        eoi_total=at(e_rows, tot),
        eoi_day=day_at(e_rows),
        timepoint_total=tp_tot,
        timepoint_day=tp_day,
        response_day=scatter(_days(first_resp)),
        remission_day=scatter(_days(first_rem)),
        last_day=scatter(_days(last_rel)),
        relapse_day=scatter(_days(relapse)),
        n_assessments_untreated=untreated,
    )
