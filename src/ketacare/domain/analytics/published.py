"""Published response and remission rates, and the clinic's figures beside them.

The rows come from the tables described in the ketacare clinical reference §7 (and
``shared/data/published/``): ``ketamine_response_rates.csv`` (study, design, n, definition,
timepoint, response_pct, remission_pct), ``esketamine_trials.csv`` (study, arm, n,
response_pct, remission_pct; MADRS, day 28) and ``lii2023_madrs.csv`` (day, arm, counts). The
caller reads the files; this module only parses rows given as mappings of strings.

Studies differ in instrument, threshold, timepoint and estimator (crude proportion vs
Kaplan–Meier); each comparison lists the differences instead of hiding them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ketacare.domain.errors import DomainError

if TYPE_CHECKING:
    from ketacare.domain.analytics.definitions import Definitions
    from ketacare.domain.analytics.summary import OutcomeSummary

__all__ = [
    "TRIAL_ANCHORS",
    "PublishedComparison",
    "PublishedRate",
    "compare_with_published",
    "parse_published_rates",
    "remission_cut",
]

_INSTRUMENTS = (
    ("QIDS-SR16", "qids-sr16"),
    ("PHQ-9", "phq9"),
    ("MADRS", "madrs"),
    ("HAM-D", "hamd17"),
    ("HDRS", "hamd17"),
)


@dataclass(frozen=True, slots=True)
class PublishedRate:
    """One published rate with its definition.

    Attributes
    ----------
    study, design, timepoint, definition : str
        As printed in the source table.
    n : int
        Group size reported (not always the denominator of the percentages).
    response_pct, remission_pct : float or None
        Percentages as printed.
    instrument : str or None
        ketacare instrument id read from the definition (``None`` if not recognised).
    kaplan_meier : bool
        The rate is a Kaplan–Meier estimate, not a crude proportion.
    response_k, remission_k : int or None
        Counts when the source gives them (Lii 2023), never back-calculated.
    window_day : float or None
        The day after the first treatment the rate refers to (``None``: the end of the
        treatment series / induction, the clinic's end-of-induction figure).
    tag : str
        How far the numbers are checked, as in the clinical reference: ``V`` verified against
        the source, ``S`` from a secondary source, ``U`` unverified ("" for the fixture rows,
        tagged in the reference §7).
    source : str
        Citation (journal, volume, pages, trial registry id) and where the numbers come from.
    relapse_pct : float or None
        A published relapse percentage (randomised-withdrawal trials), not a response rate.
    note : str
        What a reader must know before comparing (e.g. rates not verified, so not shown).
    """

    study: str
    design: str
    n: int
    definition: str
    timepoint: str
    response_pct: float | None
    remission_pct: float | None
    instrument: str | None
    kaplan_meier: bool = False
    response_k: int | None = None
    remission_k: int | None = None
    window_day: float | None = None
    tag: str = ""
    source: str = ""
    relapse_pct: float | None = None
    note: str = ""

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "study": self.study,
            "design": self.design,
            "n": self.n,
            "definition": self.definition,
            "timepoint": self.timepoint,
            "response_pct": self.response_pct,
            "remission_pct": self.remission_pct,
            "instrument": self.instrument,
            "kaplan_meier": self.kaplan_meier,
            "response_k": self.response_k,
            "remission_k": self.remission_k,
            "window_day": self.window_day,
            "tag": self.tag,
            "source": self.source,
            "relapse_pct": self.relapse_pct,
            "note": self.note,
        }


def _num(row: Mapping[str, str], key: str, where: str) -> float | None:
    text = (row.get(key) or "").strip()
    if not text:
        return None
    try:
        return float(text)
    except ValueError:
        raise DomainError(f"{where}: column {key!r} is not a number: {text!r}") from None


def _int(row: Mapping[str, str], key: str, where: str) -> int | None:
    v = _num(row, key, where)
    return None if v is None else int(v)


def _instrument(text: str) -> str | None:
    for label, iid in _INSTRUMENTS:
        if label.lower() in text.lower():
            return iid
    return None


_DAY = re.compile(r"^day (\d+(?:\.\d+)?)$")


def _window_day(timepoint: str) -> float | None:
    """``"day 28"`` -> 28.0; anything else (end of the series, "within 6 weeks") -> None."""
    m = _DAY.match(timepoint.strip().lower())
    return None if m is None else float(m.group(1))


def parse_published_rates(rows: Iterable[Mapping[str, str]], source: str) -> list[PublishedRate]:
    """Parse rows of one published table (format recognised from its columns).

    Parameters
    ----------
    rows : iterable of mapping
        Rows as read by :class:`csv.DictReader` (all values strings).
    source : str
        Name used in error messages (e.g. the file name).

    Raises
    ------
    DomainError
        Unknown columns or a value that is not a number (message names the row).

    Examples
    --------
    >>> r = parse_published_rates([{"study": "TRANSFORM-2", "arm": "ESK", "n": "114",
    ...     "response_pct": "69.3", "remission_pct": "52.5"}], "esketamine_trials.csv")
    >>> r[0].instrument, r[0].timepoint, r[0].remission_pct
    ('madrs', 'day 28', 52.5)
    """
    out: list[PublishedRate] = []
    for i, row in enumerate(rows, start=2):
        where = f"{source} line {i}"
        keys = set(row)
        if {"definition", "timepoint"} <= keys:
            d = row["definition"]
            out.append(
                PublishedRate(
                    row["study"], row.get("design", ""), _int(row, "n", where) or 0, d,
                    row["timepoint"], _num(row, "response_pct", where),
                    _num(row, "remission_pct", where), _instrument(d),
                    "kaplan" in row["timepoint"].lower() or row["study"].startswith("Oliver"),
                    window_day=_window_day(row["timepoint"]),
                )
            )  # fmt: skip
        elif {"arm", "response_pct"} <= keys:
            out.append(
                PublishedRate(
                    row["study"], row["arm"], _int(row, "n", where) or 0,
                    "response: MADRS reduction >=50% from baseline; remission: MADRS <=12",
                    "day 28", _num(row, "response_pct", where),
                    _num(row, "remission_pct", where), "madrs", window_day=28.0,
                )
            )  # fmt: skip
        elif {"day", "arm", "responders", "n_remission"} <= keys:
            rk, rn = _int(row, "responders", where), _int(row, "n_response", where)
            mk, mn = _int(row, "remitters", where), _int(row, "n_remission", where)
            out.append(
                PublishedRate(
                    "Lii 2023", row["arm"], rn or mn or 0,
                    "response: MADRS reduction >=50% from screening; remission: MADRS <=12",
                    f"day {row['day']}", None if rk is None or not rn else 100 * rk / rn,
                    None if mk is None or not mn else 100 * mk / mn, "madrs",
                    response_k=rk, remission_k=mk, window_day=float(row["day"]),
                )
            )  # fmt: skip
        else:
            raise DomainError(f"{where}: unrecognised published table columns {sorted(keys)}")
    return out


def remission_cut(definition: str) -> float | None:
    """The remission threshold of a published definition, as an inclusive cut on the total.

    >>> remission_cut("response: PHQ-9 reduction >=50%; remission: PHQ-9 <5")
    4.0
    >>> remission_cut("remission: MADRS <=10"), remission_cut("response only") is None
    (10.0, True)
    """
    return _remission_cut(definition)


_REM = re.compile(r"remission:\s*[A-Za-z0-9\-]+\s*(<=|<)\s*(\d+(?:\.\d+)?)")


def _remission_cut(definition: str) -> float | None:
    m = _REM.search(definition)
    if m is None:
        return None
    value = float(m.group(2))
    return value - 1 if m.group(1) == "<" else value  # integer totals: "< 5" is "<= 4"


@dataclass(frozen=True, slots=True)
class PublishedComparison:
    """A published rate beside the clinic's end-of-induction figures.

    Attributes
    ----------
    published : PublishedRate
    clinic_response, clinic_remission : Proportion-like dict or None
        The clinic's rate, Wilson interval, n (from :meth:`Proportion.as_dict`).
    differences : tuple of str
        Why the numbers are not directly comparable (instrument, threshold, estimator ...).
    """

    published: PublishedRate
    clinic_response: Mapping[str, object]
    clinic_remission: Mapping[str, object] | None
    differences: tuple[str, ...]

    def as_dict(self) -> dict[str, object]:
        """JSON-ready form."""
        return {
            "published": self.published.as_dict(),
            "clinic_response": dict(self.clinic_response),
            "clinic_remission": None
            if self.clinic_remission is None
            else dict(self.clinic_remission),
            "differences": list(self.differences),
        }


def compare_with_published(
    clinic: OutcomeSummary, definitions: Definitions, published: Sequence[PublishedRate]
) -> tuple[PublishedComparison, ...]:
    """Put the clinic's end-of-induction rates beside each published rate."""
    eoi = clinic.end_of_induction
    out = []
    for p in published:
        diff: list[str] = []
        if p.instrument != definitions.instrument:
            diff.append(f"instrument: published {p.instrument or 'unknown'}, "
                        f"clinic {definitions.instrument}")  # fmt: skip
        cut = _remission_cut(p.definition)
        if cut is not None and cut != definitions.remission_threshold:
            diff.append(f"remission threshold: published <= {cut:g}, "
                        f"clinic <= {definitions.remission_threshold}")  # fmt: skip
        if p.kaplan_meier:
            diff.append("published rate is a Kaplan–Meier estimate, clinic rate a crude proportion")
        diff.append(f"timepoint: published {p.timepoint}, clinic end of induction")
        out.append(
            PublishedComparison(
                p,
                eoi.response.as_dict(),
                None if eoi.remission is None else eoi.remission.as_dict(),
                tuple(diff),
            )
        )
    return tuple(out)


_MADRS_10 = "response: MADRS reduction >=50% from baseline; remission: MADRS <=10"
_MADRS_12 = "response: MADRS reduction >=50% from baseline; remission: MADRS <=12"

#: Trials added as anchors for issue 21.3 (clinical reference §7.4 and the SPRAVATO label,
#: rems-billing reference §3). ``tag`` follows the reference: ``V`` verified, ``S`` from a
#: secondary source (an abstract quoted elsewhere), ``U`` unverified. A rate that is not
#: verified at all is left out (``None``) and ``note`` says so, rather than shown as a number.
TRIAL_ANCHORS: tuple[PublishedRate, ...] = (
    PublishedRate(
        "ESCAPE-TRD (Reif 2023)",
        "open-label RCT; esketamine nasal spray + SSRI/SNRI arm (vs quetiapine XR)",
        336,
        _MADRS_10,
        "week 8",
        None,
        27.1,
        "madrs",
        window_day=56.0,
        tag="U",
        source="Reif et al. 2023, N Engl J Med 389(14):1298-1309 [U volume/pages]; "
        "NCT04338321. n 336 vs 340 [S: BJP sensitivity analysis abstract]; remission 27.1% vs "
        "17.6% [U: not checked against the paper]",
        note="primary end point MADRS <=10 at week 8; response at week 8 not verified [U]",
    ),
    PublishedRate(
        "ESCAPE-TRD (Reif 2023)",
        "open-label RCT; quetiapine XR + SSRI/SNRI arm",
        340,
        _MADRS_10,
        "week 8",
        None,
        17.6,
        "madrs",
        window_day=56.0,
        tag="U",
        source="as above",
        note="comparator arm",
    ),
    PublishedRate(
        "ESCAPE-TRD, US-label subgroup (2025)",
        "esketamine nasal spray + SSRI/SNRI arm, patients treated per the US label",
        0,
        "response: PHQ-9 reduction >=50% from baseline; remission: PHQ-9 <5",
        "week 8",
        49.4,
        19.3,
        "phq9",
        window_day=56.0,
        tag="S",
        source="Curr Med Res Opin 2025 (PHQ-9 analysis of ESCAPE-TRD, NCT04338321) [S: "
        "abstract as published by the authors' firm]; n of the subgroup not verified [U]",
        note="week 32: response 58.9%, remission 34.8% [S]",
    ),
    PublishedRate(
        "ESCAPE-TRD, US-label subgroup (2025)",
        "quetiapine XR + SSRI/SNRI arm",
        0,
        "response: PHQ-9 reduction >=50% from baseline; remission: PHQ-9 <5",
        "week 8",
        32.8,
        12.2,
        "phq9",
        window_day=56.0,
        tag="S",
        source="as above",
        note="comparator arm; week 32: response 40.3%, remission 18.1% [S]",
    ),
    PublishedRate(
        "ELEKT-D (Anand 2023)",
        "open-label non-inferiority RCT; IV ketamine 0.5 mg/kg twice "
        "weekly for 3 weeks arm (vs ECT)",
        195,
        "response: QIDS-SR16 reduction >=50% from baseline; remission: QIDS-SR16 <=5",
        "end of the 3-week treatment phase",
        55.4,
        32.3,
        "qids-sr16",
        tag="U",
        source="Anand et al. 2023, N Engl J Med 388(25):2315-2325 [U volume/pages]; "
        "NCT03113968. Response 55.4% vs 41.2% [S: abstract]; remission and arm sizes [U]",
        note="per-protocol analysis of 365 patients [S]",
    ),
    PublishedRate(
        "ELEKT-D (Anand 2023)",
        "open-label non-inferiority RCT; ECT 3x/week arm",
        170,
        "response: QIDS-SR16 reduction >=50% from baseline; remission: QIDS-SR16 <=5",
        "end of the 3-week treatment phase",
        41.2,
        20.0,
        "qids-sr16",
        tag="U",
        source="as above",
        note="comparator arm",
    ),
    PublishedRate(
        "SUSTAIN-1 (Daly 2019)",
        "randomised withdrawal; stable remitters continuing esketamine + AD (vs placebo + AD)",
        90,
        "relapse: MADRS >=22 at 2 consecutive assessments 5-15 days apart, or "
        "hospitalisation or suicide-related event",
        "maintenance phase (after 16 weeks)",
        None,
        None,
        "madrs",
        tag="V",
        relapse_pct=26.7,
        source="Daly et al. 2019, JAMA Psychiatry 76(9):893-903; PMC6551577; NCT02493868 "
        "[V, clinical reference §7.4]: relapse 24 (26.7%) vs 39 (45.3%), HR 0.49 "
        "(0.29-0.84), NNT 6",
        note="a relapse rate among stable remitters, not a response rate; compare with the "
        "clinic's time to relapse",
    ),
    PublishedRate(
        "SUSTAIN-1 (Daly 2019)",
        "randomised withdrawal; stable remitters switched to placebo + AD",
        86,
        "relapse: MADRS >=22 at 2 consecutive assessments 5-15 days apart, or "
        "hospitalisation or suicide-related event",
        "maintenance phase (after 16 weeks)",
        None,
        None,
        "madrs",
        tag="V",
        relapse_pct=45.3,
        source="as above",
        note="comparator arm",
    ),
    PublishedRate(
        "Esketamine monotherapy (Janik 2025)",
        "double-blind RCT; esketamine 56 mg or 84 mg "
        "without an oral antidepressant (vs placebo), twice weekly for 4 weeks",
        181,
        _MADRS_12,
        "day 28",
        None,
        None,
        "madrs",
        window_day=28.0,
        tag="S",
        source="Janik et al. 2025, JAMA Psychiatry 82(9):877-887; NCT04599855 [S: PubMed "
        "abstract]: n 86 (56 mg) + 95 (84 mg) vs 197 placebo; MADRS change at day 28 vs "
        "placebo -5.1 (56 mg) and -6.8 (84 mg). The basis of the US monotherapy indication "
        "of 2025-01-21 [V: label, rems-billing reference §3]",
        note="response and remission rates are secondary outcomes, not verified [U]: not shown",
    ),
)
