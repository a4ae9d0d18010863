"""Shared types for clinical rules: every finding carries its rule id, plain text and source.

ketacare supports clinicians; it never decides for them. Each rule in ``ketacare.domain``
returns :class:`Reason` objects so that a page, a report or the CLI can show *why* a result
was reached and *where* the rule comes from (``clinical.md`` section and the primary source).
Sources tagged ``[U]`` are unverified (``clinical.md`` §9) and are configurable.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

Status = Literal["met", "not_met", "unknown"]


@dataclass(frozen=True, slots=True)
class Reason:
    """One reason behind a result.

    Attributes
    ----------
    rule_id : str
        Stable identifier, e.g. ``"ESK-CI-AVM"``; documented in ``docs/intake.md``.
    text : str
        Plain-language explanation for the clinician (paraphrased, never quoted criteria).
    source : str
        Citation of the rule (paper, label section, or ``ketacare policy``), with ``[U]``
        when the fact is not verified.

    Examples
    --------
    >>> Reason("X-1", "An example.", "clinical.md §0").as_dict()["rule_id"]
    'X-1'
    """

    rule_id: str
    text: str
    source: str

    def as_dict(self) -> dict[str, str]:
        """Return a JSON-ready mapping."""
        return {"rule_id": self.rule_id, "text": self.text, "source": self.source}


# --- sources (clinical.md sections in brackets) ----------------------------------------------
SRC_DSM5: Final = (
    "APA, DSM-5 (2013) major depressive episode criteria, paraphrased "
    "(clinical.md §3; SAMHSA NBK519712 Table 9)"
)
SRC_PHQ9_DSM: Final = (
    "Kroenke, Spitzer & Williams 2001, J Gen Intern Med 16:606; PHQ-9 item to DSM-5 A-criterion "
    "mapping (clinical.md §2.1, §3)"
)
SRC_TRD: Final = (
    "Rybak et al. 2021, Depress Anxiety 38:456 Table 3; Gaynes et al. 2020; SPRAVATO US "
    "indication; EU SmPC 4.1: at least two different antidepressants (clinical.md §4.1)"
)
SRC_TRD_WEEKS: Final = (
    "[U] >= 6 weeks per the esketamine programme (MGH-ATRQ, unverified); 4-6 weeks per "
    "Rybak 2021 (clinical.md §4.1, §9 item 11)"
)
SRC_MSM: Final = (
    "Fekadu et al. 2009, J Clin Psychiatry 70:177; Fekadu, Donocik & Cleare 2018, BMC "
    "Psychiatry 18:100 Table 3; PLoS ONE 2020;15:e0236434 Panel 1 (clinical.md §4.2)"
)
SRC_THASE_RUSH: Final = "Thase & Rush 1997, via medicalalgorithms.com (clinical.md §4.3)"
SRC_ESK_LABEL: Final = "SPRAVATO (esketamine) US prescribing information (clinical.md §5.2)"
SRC_ESK_BP: Final = (
    "SPRAVATO US PI §2.1 and §5.6: baseline BP above about 140/90 mmHg as a general guide "
    "(clinical.md §5.2)"
)
SRC_ESK_HEPATIC: Final = "SPRAVATO US PI §8.6 hepatic impairment (clinical.md §5.2)"
SRC_ESK_SUD: Final = "SPRAVATO US PI: abuse and misuse; Schedule III (clinical.md §5.2)"
SRC_ESK_PSYCHOSIS: Final = (
    "SPRAVATO US PI: assess patients with psychosis; benefit must outweigh risk (clinical.md §5.1)"
)
SRC_ESK_INTERACTIONS: Final = (
    "SPRAVATO US PI §5.6: monitor BP closely with psychostimulants or MAOIs (clinical.md §5.2)"
)
SRC_ESK_AGE: Final = (
    "SPRAVATO US indication (adults); EU/other SmPCs: 28 mg start at >= 65 y (clinical.md §5.2)"
)
SRC_IV_PRACTICE: Final = (
    "IV ketamine practice exclusions, not a label: PMC10812090 Table 1; PMC8434915; psyon.cz "
    "(clinical.md §5.1)"
)
SRC_IV_BENZO: Final = (
    "[U] threshold: > 3 mg/day lorazepam equivalents in one trial (PMC10812090 Table 1); "
    "clinic-configurable (clinical.md §5.1)"
)
SRC_KETACARE_POLICY: Final = "ketacare policy (configurable; docs/intake.md)"
SRC_PHQ9_ITEM9: Final = (
    "PHQ-9 item 9: any non-zero answer needs same-visit suicide-risk follow-up "
    "(Kroenke 2001; Crit Care Nurse 2020;40:92 [S]; clinical.md §2.1)"
)
SRC_CSSRS: Final = (
    "Posner et al. 2011, AJP 168:1266; Columbia C-SSRS triage guidelines and SAFE-T with C-SSRS "
    "(clinical.md §2.7)"
)
SRC_PHQ9_BANDS: Final = (
    "Kroenke, Spitzer & Williams 2001, J Gen Intern Med 16:606 (clinical.md §2.1)"
)
