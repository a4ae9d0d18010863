"""PHQ-9 and GAD-7 scoring for the public self-screen.

A thin adapter over the instrument library (:mod:`ketacare.domain.instruments`), which is the
single source of the rules (``data/phq9.json`` and ``data/gad7.json``); this module keeps the
self-screen's own result types, band names and error fields (``phq9.N``, ``gad7.N``).

Rules (clinical reference §2.1 and §2.3):

* PHQ-9 total = sum of items 1-9 (0-27); item 10 (difficulty) is never added.
  Bands 0-4 none, 5-9 mild, 10-14 moderate, 15-19 moderately severe, 20-27 severe
  (Kroenke, Spitzer & Williams 2001, J Gen Intern Med 16:606).
* PHQ "major depressive syndrome" (Spitzer/Kroenke algorithm, as implemented by CamCOPS):
  ``n_core`` = items 1-2 scored >= 2; ``n_other`` = items 3-8 scored >= 2, plus 1 if item 9 >= 1;
  met when ``n_core >= 1 and n_core + n_other >= 5``.
* Item 9 >= 1 is flagged for same-visit suicide-risk follow-up.
* GAD-7 total = sum of 7 items (0-21); bands 0-4 none, 5-9 mild, 10-14 moderate, 15-21 severe
  (Spitzer et al. 2006, Arch Intern Med 166:1092).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal, cast

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import get_instrument, score

Band = Literal["none", "mild", "moderate", "moderately_severe", "severe"]

PHQ9_SOURCE: Final = "Kroenke K, Spitzer RL, Williams JB. J Gen Intern Med 2001;16:606-613"
GAD7_SOURCE: Final = "Spitzer RL, Kroenke K, Williams JB, Lowe B. Arch Intern Med 2006;166:1092"


def _bands_of(instrument_id: str) -> tuple[tuple[int, Band], ...]:
    bands = get_instrument(instrument_id).bands
    return tuple((b.min or 0, cast(Band, b.code)) for b in reversed(bands))


#: Lower bound of each PHQ-9 band, highest first (from the library definition).
PHQ9_BANDS: Final[tuple[tuple[int, Band], ...]] = _bands_of("phq9")
#: Lower bound of each GAD-7 band, highest first (the GAD-7 has no "moderately severe").
GAD7_BANDS: Final[tuple[tuple[int, Band], ...]] = _bands_of("gad7")


@dataclass(frozen=True, slots=True)
class Phq9Result:
    """A scored PHQ-9.

    Attributes
    ----------
    total : int
        Sum of items 1-9, 0-27.
    band : Band
        Severity band of the total.
    item9_positive : bool
        True when item 9 (thoughts of death or self-harm) is 1 or more.
    major_depressive_syndrome : bool
        True when the PHQ major-depressive-syndrome algorithm is met.
    other_depressive_syndrome : bool
        True when the "other depressive syndrome" algorithm is met.
    difficulty : int | None
        Item 10 (0-3) when given; never part of the total.
    """

    total: int
    band: Band
    item9_positive: bool
    major_depressive_syndrome: bool
    other_depressive_syndrome: bool
    difficulty: int | None = None


@dataclass(frozen=True, slots=True)
class Gad7Result:
    """A scored GAD-7: ``total`` 0-21 and its severity ``band``."""

    total: int
    band: Band


def _check_shape(prefix: str, answers: Sequence[object], n: int) -> list[object]:
    if isinstance(answers, str | bytes) or not isinstance(answers, Sequence):
        raise InvalidAnswer(prefix, f"must be a list of {n} integers")
    if len(answers) != n:
        raise InvalidAnswer(prefix, f"must have exactly {n} answers, got {len(answers)}")
    return list(answers)


def score_phq9(items: Sequence[object], difficulty: int | None = None) -> Phq9Result:
    """Score a PHQ-9.

    Parameters
    ----------
    items : sequence of int
        Answers to items 1-9, each 0 (not at all) to 3 (nearly every day).
    difficulty : int, optional
        Item 10, 0-3; recorded but never added to the total.

    Returns
    -------
    Phq9Result

    Raises
    ------
    InvalidAnswer
        Naming the item (``phq9.N``) that is missing, of the wrong type or out of range.

    Examples
    --------
    >>> r = score_phq9([2, 2, 1, 1, 1, 1, 1, 1, 1])
    >>> (r.total, r.band, r.item9_positive, r.major_depressive_syndrome)
    (11, 'moderate', True, False)
    """
    answers = _check_shape("phq9", items, 9)
    try:
        r = score("phq9", [*answers, difficulty])
    except InvalidAnswer as exc:
        if exc.field == "phq9.10":  # the self-screen names item 10 separately
            raise InvalidAnswer("phq9_difficulty.1", exc.reason) from None
        raise
    assert r.total is not None
    return Phq9Result(
        total=r.total,
        band=cast(Band, r.band),
        item9_positive="item9_positive" in r.flags,
        major_depressive_syndrome="major_depressive_syndrome" in r.flags,
        other_depressive_syndrome="other_depressive_syndrome" in r.flags,
        difficulty=difficulty,
    )


def score_gad7(items: Sequence[object]) -> Gad7Result:
    """Score a GAD-7.

    Parameters
    ----------
    items : sequence of int
        Answers to items 1-7, each 0-3.

    Returns
    -------
    Gad7Result

    Raises
    ------
    InvalidAnswer
        Naming the item (``gad7.N``) that is missing, of the wrong type or out of range.

    Examples
    --------
    >>> score_gad7([3, 3, 3, 3, 3, 0, 0])
    Gad7Result(total=15, band='severe')
    """
    r = score("gad7", _check_shape("gad7", items, 7))
    assert r.total is not None
    return Gad7Result(total=r.total, band=cast(Band, r.band))


#: Plain-language meaning of each band, shown to the person who screened themselves.
PHQ9_MEANING: Final[dict[Band, str]] = {
    "none": "Your answers suggest few or no symptoms of depression.",
    "mild": "Your answers suggest mild symptoms of depression. It can help to keep an eye on "
    "how you feel and talk to someone you trust or your doctor if it continues.",
    "moderate": "Your answers suggest moderate symptoms of depression. Talking to a doctor or "
    "mental health professional about treatment is a good idea.",
    "moderately_severe": "Your answers suggest moderately severe symptoms of depression. We "
    "recommend that you speak with a doctor or mental health professional soon.",
    "severe": "Your answers suggest severe symptoms of depression. Please speak with a doctor "
    "or mental health professional as soon as you can.",
}
GAD7_MEANING: Final[dict[Band, str]] = {
    "none": "Your answers suggest few or no symptoms of anxiety.",
    "mild": "Your answers suggest mild symptoms of anxiety.",
    "moderate": "Your answers suggest moderate symptoms of anxiety. A doctor or mental health "
    "professional can help you decide whether treatment would help.",
    "moderately_severe": "Your answers suggest moderately severe symptoms of anxiety.",
    "severe": "Your answers suggest severe symptoms of anxiety. Please speak with a doctor or "
    "mental health professional soon.",
}


# --- Wording shown on the public self-screen (PHQ-9 and GAD-7 may be reproduced freely) ---

PFIZER_ATTRIBUTION: Final = (
    "Copyright © Pfizer Inc. All rights reserved. Developed by Drs. Robert L. Spitzer, "
    "Janet B.W. Williams, Kurt Kroenke and colleagues, with an educational grant from Pfizer "
    "Inc. No permission required to reproduce, translate, display or distribute."
)
STEM: Final = (
    "Over the last 2 weeks, how often have you been bothered by any of the following problems?"
)
FREQUENCY_OPTIONS: Final = (
    "Not at all",
    "Several days",
    "More than half the days",
    "Nearly every day",
)
PHQ9_ITEMS: Final = (
    "Little interest or pleasure in doing things",
    "Feeling down, depressed, or hopeless",
    "Trouble falling or staying asleep, or sleeping too much",
    "Feeling tired or having little energy",
    "Poor appetite or overeating",
    "Feeling bad about yourself — or that you are a failure or have let yourself or your "
    "family down",
    "Trouble concentrating on things, such as reading the newspaper or watching television",
    "Moving or speaking so slowly that other people could have noticed? Or the opposite — "
    "being so fidgety or restless that you have been moving around a lot more than usual",
    "Thoughts that you would be better off dead or of hurting yourself in some way",
)
PHQ9_DIFFICULTY: Final = (
    "If you checked off any problems, how difficult have these problems made it for you to "
    "do your work, take care of things at home, or get along with other people?"
)
DIFFICULTY_OPTIONS: Final = (
    "Not difficult at all",
    "Somewhat difficult",
    "Very difficult",
    "Extremely difficult",
)
GAD7_ITEMS: Final = (
    "Feeling nervous, anxious or on edge",
    "Not being able to stop or control worrying",
    "Worrying too much about different things",
    "Trouble relaxing",
    "Being so restless that it is hard to sit still",
    "Becoming easily annoyed or irritable",
    "Feeling afraid as if something awful might happen",
)
