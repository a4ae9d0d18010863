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
    "PublishedComparison",
    "PublishedRate",
    "compare_with_published",
    "parse_published_rates",
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
                )
            )  # fmt: skip
        elif {"arm", "response_pct"} <= keys:
            out.append(
                PublishedRate(
                    row["study"], row["arm"], _int(row, "n", where) or 0,
                    "response: MADRS reduction >=50% from baseline; remission: MADRS <=12",
                    "day 28", _num(row, "response_pct", where),
                    _num(row, "remission_pct", where), "madrs",
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
                    response_k=rk, remission_k=mk,
                )
            )  # fmt: skip
        else:
            raise DomainError(f"{where}: unrecognised published table columns {sorted(keys)}")
    return out


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
