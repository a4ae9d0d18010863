"""DSM-5 major depressive episode: criteria A1-A9 from the PHQ-9, B-E from the clinician.

Rules (clinical.md §2.1 and §3; criteria are paraphrased, never quoted):

* PHQ-9 item -> criterion: 1 -> A2, 2 -> A1, 3 -> A4, 4 -> A6, 5 -> A3, 6 -> A7, 7 -> A8,
  8 -> A5, 9 -> A9. A symptom counts as present when its item is >= 2 (item 9: >= 1).
* A is met with >= 5 symptoms present including A1 or A2; it is *not* met when, even counting
  every unanswered item as present, that cannot happen; otherwise it is unknown.
* B-E come only from clinician attestations (the PHQ-9 cannot assess them).
* Conclusion: ``meets`` when A-E are all met; ``does_not_meet`` when any is not met;
  otherwise ``cannot_determine``, naming the criteria still missing.

A PHQ-9 screens; it does not diagnose. The result supports the clinician's interview.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from ketacare.domain.intake.model import Dsm5Attestations
from ketacare.domain.rules import SRC_DSM5, SRC_PHQ9_DSM, Reason, Status

Conclusion = Literal["meets", "does_not_meet", "cannot_determine"]

#: (criterion code, PHQ-9 item index 0-8, threshold, paraphrase)
A_CRITERIA: Final[tuple[tuple[str, int, int, str], ...]] = (
    ("A1", 1, 2, "low mood most of the day, most days"),
    ("A2", 0, 2, "markedly less interest or pleasure in activities"),
    ("A3", 4, 2, "appetite or weight change"),
    ("A4", 2, 2, "sleeping too little or too much"),
    ("A5", 7, 2, "psychomotor slowing or agitation"),
    ("A6", 3, 2, "tiredness or loss of energy"),
    ("A7", 5, 2, "worthlessness or excessive guilt"),
    ("A8", 6, 2, "poorer concentration or indecisiveness"),
    ("A9", 8, 1, "recurrent thoughts of death or suicide"),
)
BE_CRITERIA: Final[tuple[tuple[str, str, str], ...]] = (
    ("B", "b_distress_or_impairment", "symptoms cause significant distress or impairment"),
    ("C", "c_not_substance_or_medical", "not caused by a substance or another medical condition"),
    ("D", "d_not_psychotic_disorder", "not better explained by a psychotic disorder"),
    ("E", "e_no_mania_or_hypomania", "no manic or hypomanic episode ever"),
)
_STATUS_WORD: Final[dict[Status, str]] = {"met": "met", "not_met": "not met", "unknown": "unknown"}


@dataclass(frozen=True, slots=True)
class CriterionResult:
    """One criterion (``A``-``E`` or ``A1``-``A9``) with its status and the reason."""

    code: str
    status: Status
    reason: Reason


@dataclass(frozen=True, slots=True)
class Dsm5Result:
    """Result of :func:`assess_major_depressive_episode`.

    Attributes
    ----------
    criteria : tuple of CriterionResult
        A1-A9, then A, B, C, D, E, in that order.
    symptoms_present : int
        Number of A symptoms present.
    conclusion : Conclusion
    missing : tuple of str
        Criterion codes (and PHQ-9 items) still needed when the conclusion is
        ``cannot_determine``.
    reason : Reason
        The conclusion in words.
    """

    criteria: tuple[CriterionResult, ...]
    symptoms_present: int
    conclusion: Conclusion
    missing: tuple[str, ...]
    reason: Reason

    def status(self, code: str) -> Status:
        """Return the status of criterion ``code`` (e.g. ``"A7"`` or ``"C"``)."""
        for c in self.criteria:
            if c.code == code:
                return c.status
        raise KeyError(code)


def _a_symptom(code: str, item: int, threshold: int, text: str, v: int | None) -> CriterionResult:
    status: Status = "unknown" if v is None else ("met" if v >= threshold else "not_met")
    shown = "unanswered" if v is None else str(v)
    return CriterionResult(
        code,
        status,
        Reason(
            f"DSM5-{code}",
            f"{code} ({text}): {_STATUS_WORD[status]}; PHQ-9 item {item + 1} = {shown}, "
            f"counts when >= {threshold}.",
            SRC_PHQ9_DSM,
        ),
    )


def assess_major_depressive_episode(
    phq9: Sequence[int | None] | None, attestations: Dsm5Attestations
) -> Dsm5Result:
    """Assess DSM-5 major-depressive-episode criteria A-E.

    Parameters
    ----------
    phq9 : sequence of (int or None), optional
        PHQ-9 items 1-9, each 0-3 or ``None`` when unanswered; ``None`` when not given.
    attestations : Dsm5Attestations
        Clinician attestations for B-E.

    Returns
    -------
    Dsm5Result

    References
    ----------
    APA, DSM-5 (2013), paraphrased; Kroenke, Spitzer & Williams 2001 (PHQ-9 mapping).

    Examples
    --------
    >>> att = Dsm5Attestations(True, True, True, True)
    >>> assess_major_depressive_episode([2, 2, 2, 2, 2, 0, 0, 0, 0], att).conclusion
    'meets'
    >>> r = assess_major_depressive_episode([0, 0, 3, 3, 3, 3, 3, 3, 3], att)
    >>> (r.status("A"), r.conclusion)
    ('not_met', 'does_not_meet')
    >>> assess_major_depressive_episode(None, Dsm5Attestations()).missing
    ('A', 'B', 'C', 'D', 'E')
    """
    items: Sequence[int | None] = phq9 if phq9 is not None else (None,) * 9
    if len(items) != 9:
        raise ValueError("phq9 must have 9 items")
    symptoms = [_a_symptom(c, i, t, txt, items[i]) for c, i, t, txt in A_CRITERIA]
    met = sum(1 for s in symptoms if s.status == "met")
    unknown = sum(1 for s in symptoms if s.status == "unknown")
    core = symptoms[0:2]
    core_met = any(s.status == "met" for s in core)
    core_possible = any(s.status != "not_met" for s in core)
    a_status: Status
    if core_met and met >= 5:
        a_status = "met"
    elif not core_possible or met + unknown < 5:
        a_status = "not_met"
    else:
        a_status = "unknown"
    a_text = (
        f"A (at least 5 of 9 symptoms in the same 2 weeks, including low mood or loss of "
        f"interest): {_STATUS_WORD[a_status]}; {met} present, {unknown} unanswered, core symptom "
        f"{'present' if core_met else 'absent' if not core_possible else 'unanswered'}."
    )
    a = CriterionResult("A", a_status, Reason("DSM5-A", a_text, SRC_PHQ9_DSM))
    be: list[CriterionResult] = []
    for code, attr, text in BE_CRITERIA:
        v: bool | None = getattr(attestations, attr)
        st: Status = "unknown" if v is None else ("met" if v else "not_met")
        note = "not yet attested by the clinician" if v is None else "clinician attestation"
        be.append(
            CriterionResult(
                code,
                st,
                Reason(f"DSM5-{code}", f"{code} ({text}): {_STATUS_WORD[st]}; {note}.", SRC_DSM5),
            )
        )
    main = [a, *be]
    missing = tuple(c.code for c in main if c.status == "unknown")
    failed = [c.code for c in main if c.status == "not_met"]
    conclusion: Conclusion
    if failed:
        conclusion = "does_not_meet"
        text = (
            f"Criteria for a major depressive episode are not met (not met: {', '.join(failed)})."
        )
    elif missing:
        conclusion = "cannot_determine"
        text = (
            "Cannot determine whether criteria for a major depressive episode are met; "
            f"still needed: {', '.join(missing)}."
        )
    else:
        conclusion = "meets"
        text = (
            "Answers and attestations are consistent with DSM-5 criteria for a major depressive "
            "episode; confirm at clinical interview."
        )
    return Dsm5Result(
        criteria=(*symptoms, *main),
        symptoms_present=met,
        conclusion=conclusion,
        missing=missing,
        reason=Reason("DSM5-MDE", text, SRC_DSM5),
    )
