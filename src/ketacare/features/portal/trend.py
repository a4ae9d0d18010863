r"""A patient's score trend in plain language (pure: no database, no web).

>>> def show(text):
...     print(text.replace(". ", ".\n"))
>>> show(explain("PHQ-9", 21, 9, "higher_is_worse", "Mild"))
Your PHQ-9 score went from 21 at the start to 9 — a 57% drop.
On the PHQ-9 a lower score means fewer symptoms.
Your latest score is in the "Mild" range.
>>> show(explain("GAD-7", 6, 11, "higher_is_worse", None))
Your GAD-7 score went from 6 at the start to 11 — an 83% rise.
On the GAD-7 a lower score means fewer symptoms.
>>> show(explain("PHQ-9", 12, 12, "higher_is_worse", None))
Your PHQ-9 score is 12, the same as at the start.
On the PHQ-9 a lower score means fewer symptoms.
>>> show(explain("PHQ-9", 14, None, "higher_is_worse", "Moderate"))
Your first PHQ-9 score is 14.
The next ones will show how it changes.
Your latest score is in the "Moderate" range.
>>> show(explain("PHQ-9", 0, 3, "higher_is_worse", None))
Your PHQ-9 score went from 0 at the start to 3.
On the PHQ-9 a lower score means fewer symptoms.
"""

from __future__ import annotations

from typing import Literal

Direction = Literal["higher_is_worse", "lower_is_worse"]


def percent_change(start: int, latest: int) -> int | None:
    """The change from ``start`` to ``latest`` in whole percent of ``start`` (None from 0).

    >>> percent_change(21, 9), percent_change(10, 10), percent_change(0, 5)
    (-57, 0, None)
    """
    if start == 0:
        return None
    return round((latest - start) * 100 / start)


def explain(
    name: str, start: int, latest: int | None, direction: Direction, band: str | None
) -> str:
    """One or two sentences a patient can read: where the score started, where it is now, by
    how much it changed, which way is better, and the latest score's band."""
    better = "lower" if direction == "higher_is_worse" else "higher"
    meaning = f"On the {name} a {better} score means fewer symptoms."
    band_text = f' Your latest score is in the "{band}" range.' if band else ""
    if latest is None:
        return (
            f"Your first {name} score is {start}. The next ones will show how it changes."
            + band_text
        )
    if latest == start:
        return f"Your {name} score is {latest}, the same as at the start. {meaning}{band_text}"
    pct = percent_change(start, latest)
    text = f"Your {name} score went from {start} at the start to {latest}"
    if pct is not None:
        size = str(abs(pct))
        article = "an" if size.startswith("8") or size in ("11", "18") else "a"
        text += f" — {article} {size}% {'drop' if pct < 0 else 'rise'}"
    return f"{text}. {meaning}{band_text}"
