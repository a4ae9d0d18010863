"""Published rates shown beside a clinic's figures (a verbatim copy of two fixtures).

Copied from ``shared/data/published/ketamine_response_rates.csv`` and
``esketamine_trials.csv`` (sources: clinical reference §7.1, §7.3, §7.4) so that an installed
ketacare compares without the shared tree; ``--published DIR`` of the CLI still reads files.
The trials added for issue 21.3 (ESCAPE-TRD, ELEKT-D, SUSTAIN-1, the 2025 monotherapy trial)
follow, with their sources and tags (``domain.analytics.published.TRIAL_ANCHORS``).
"""

from __future__ import annotations

import csv
import io
from functools import cache

from ketacare.domain.analytics import TRIAL_ANCHORS, PublishedRate, parse_published_rates

__all__ = ["published_rates"]

KETAMINE_RESPONSE_RATES = """\
study,design,n,definition,timepoint,response_pct,remission_pct
Murrough 2013 AJP,parallel RCT; ketamine 0.5 mg/kg arm (vs midazolam 0.045 mg/kg),47,response: MADRS reduction >=50% from baseline,24 h after infusion,64,
Murrough 2013 AJP,parallel RCT; midazolam 0.045 mg/kg arm,25,response: MADRS reduction >=50% from baseline,24 h after infusion,28,
Murrough 2013 BP,open-label; up to 6 infusions of 0.5 mg/kg 3x/week over 12 days,24,response: MADRS reduction >=50% from baseline,end of study,70.8,
Phillips 2019,double-blind crossover single infusion (ketamine vs midazolam) then 6 open-label infusions 3x/week over 2 weeks,41,response: MADRS reduction >=50% from baseline,over the 6-infusion open-label series,59,
McIntyre 2020,real-world open-label clinic series; 0.5-0.75 mg/kg,213,response: QIDS-SR16 reduction >=50%; remission: QIDS-SR16 <=5,after 4 infusions,27,13
Oliver 2022,retrospective multisite private-clinic series; 0.5 mg/kg over 40 min x6 within 21 days,424,response: PHQ-9 reduction >=50%; remission on PHQ-9,within 6 weeks,50,20
Oliver 2022,retrospective multisite private-clinic series; 0.5 mg/kg over 40 min x6 within 21 days,424,response: PHQ-9 reduction >=50%; remission on PHQ-9,after 10 infusions (Kaplan-Meier estimate),72,38
McInnes 2022,retrospective real-world series; 178 US community practices; induction 4-8 infusions over 7-28 days,537,response: PHQ-9 reduction >=50%; remission: PHQ-9 <5,14-31 days after induction,53.6,28.9
KetECT (Ekstrand 2022),RCT inpatients; ketamine 0.5 mg/kg 3x/week arm (vs ECT),186,remission: MADRS <=10,end of treatment series (up to 12 treatments),,46
KetECT (Ekstrand 2022),RCT inpatients; ECT arm (vs ketamine),186,remission: MADRS <=10,end of treatment series (up to 12 treatments),,63
"""  # noqa: E501

ESKETAMINE_TRIALS = """\
study,arm,n,response_pct,remission_pct
TRANSFORM-1,ESK 56 mg + AD,115,54.1,36.0
TRANSFORM-1,ESK 84 mg + AD,114,53.1,38.8
TRANSFORM-1,AD + placebo,113,38.9,30.6
TRANSFORM-2,ESK flexible 56/84 mg + AD,114,69.3,52.5
TRANSFORM-2,AD + placebo,109,52.0,31.0
TRANSFORM-3,ESK + AD,72,27.0,17.5
TRANSFORM-3,AD + placebo,65,13.3,6.7
"""


@cache
def _rates() -> tuple[PublishedRate, ...]:
    out: list[PublishedRate] = []
    for name, text in (
        ("ketamine_response_rates.csv", KETAMINE_RESPONSE_RATES),
        ("esketamine_trials.csv", ESKETAMINE_TRIALS),
    ):
        out.extend(parse_published_rates(list(csv.DictReader(io.StringIO(text))), name))
    return (*out, *TRIAL_ANCHORS)


def published_rates() -> list[PublishedRate]:
    """The built-in published rates."""
    return list(_rates())
