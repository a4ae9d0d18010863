"""The text a note starts with and the document its signature covers (pure).

``scores_text`` and ``intake_text`` write the pre-filled sections (latest score per instrument
with its band; the intake verdict); ``document`` writes the Markdown a signature covers and
``content_hash`` its SHA-256, which the note page, the chart and the FHIR export show, so that
anyone holding the exported text can check it is the signed one.

Examples
--------
>>> from datetime import date
>>> print(scores_text([ScoreLine("PHQ-9", 14, "Moderate", date(2026, 3, 2))]))
PHQ-9: 14 (Moderate) on 2026-03-02
>>> print(scores_text([]))
No scores recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime


@dataclass(frozen=True, slots=True)
class ScoreLine:
    """The latest total of one instrument, with its band (``None`` when it has none)."""

    instrument: str
    total: int | None
    band: str | None
    on: date


@dataclass(frozen=True, slots=True)
class VerdictSummary:
    """The parts of an intake verdict a note quotes, with the intake's date and version."""

    on: date
    version: int
    iv_ketamine: str
    esketamine: str
    trd: bool | None
    adequate_failures: int
    maudsley_total: int | None
    maudsley_band: str | None
    thase_rush_stage: int | None
    pathway: str


@dataclass(frozen=True, slots=True)
class SectionText:
    """One section of a note as written."""

    id: str
    title: str
    text: str


def scores_text(lines: Sequence[ScoreLine]) -> str:
    """One line per instrument: total, band and date."""
    if not lines:
        return "No scores recorded."
    out = []
    for s in lines:
        total = "no total" if s.total is None else str(s.total)
        band = f" ({s.band})" if s.band else ""
        out.append(f"{s.instrument}: {total}{band} on {s.on.isoformat()}")
    return "\n".join(out)


def _status(value: str) -> str:
    return value.replace("_", " ")


def intake_text(v: VerdictSummary | None) -> str:
    """The intake verdict in a few lines (eligibility, TRD and its stages, pathway).

    >>> print(intake_text(None))
    No intake recorded.
    >>> print(intake_text(VerdictSummary(date(2026, 1, 5), 2, "eligible", "needs_review", True,
    ...                                  3, 9, "moderate", 3, "iv_ketamine")))
    Intake of 2026-01-05 (version 2)
    IV ketamine: eligible; esketamine: needs review
    TRD: yes (3 adequate failed antidepressant trials)
    Maudsley Staging Method: 9 (moderate); Thase-Rush stage 3
    Pathway: iv ketamine
    """
    if v is None:
        return "No intake recorded."
    trd = {True: "yes", False: "no", None: "cannot be determined"}[v.trd]
    msm = "unknown" if v.maudsley_total is None else f"{v.maudsley_total} ({v.maudsley_band})"
    tr = "unknown" if v.thase_rush_stage is None else str(v.thase_rush_stage)
    return "\n".join(
        [
            f"Intake of {v.on.isoformat()} (version {v.version})",
            f"IV ketamine: {_status(v.iv_ketamine)}; esketamine: {_status(v.esketamine)}",
            f"TRD: {trd} ({v.adequate_failures} adequate failed antidepressant trials)",
            f"Maudsley Staging Method: {msm}; Thase-Rush stage {tr}",
            f"Pathway: {_status(v.pathway)}",
        ]
    )


def document(
    title: str,
    sections: Sequence[SectionText],
    author: str,
    signed_at: datetime,
    addendum_to: int | None = None,
) -> str:
    """The Markdown document a signature covers (UTC time, so the hash does not depend on a
    display zone).

    >>> print(document("Nursing note", [SectionText("note", "Note", "Calm.")], "n@x",
    ...                datetime(2026, 3, 2, 9, 30, tzinfo=UTC)))
    # Nursing note
    <BLANKLINE>
    ## Note
    <BLANKLINE>
    Calm.
    <BLANKLINE>
    Signed by n@x at 2026-03-02T09:30:00Z
    <BLANKLINE>
    """
    out = [f"# {title}", ""]
    if addendum_to is not None:
        out += [f"Addendum to note {addendum_to}", ""]
    for s in sections:
        out += [f"## {s.title}", "", s.text.strip() or "(empty)", ""]
    stamp = signed_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out += [f"Signed by {author} at {stamp}", ""]
    return "\n".join(out)


def content_hash(text: str) -> str:
    """SHA-256 (hex) of the UTF-8 document.

    >>> content_hash("")[:12]
    'e3b0c44298fc'
    """
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
