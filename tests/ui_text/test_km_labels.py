"""The Kaplan–Meier number-at-risk row keeps its group label clear of the day-0 count
(issue 13 point 21: "all57")."""

from __future__ import annotations

import re

from ketacare.domain.analytics.stats import kaplan_meier
from ketacare.features.charts.outcomes import km_chart


def test_group_label_does_not_touch_the_first_count() -> None:
    km = kaplan_meier([7, 14, 21, 30, 42, 60] * 10, [True, False] * 30)
    svg = km_chart({"all": km}, risk_days=[0.0, 14.0, 28.0, 42.0])
    risk = svg[svg.index('id="km-at-risk"') :]
    texts = re.findall(r'<text[^>]* x="([\d.-]+)"[^>]*>([^<]+)</text>', risk)
    x = {t: float(px) for px, t in texts}
    assert "all" in x and "60" in x, texts
    # "all" is right-aligned at x; "60" (7 pt, about 8 pt wide) is centred at its x.
    assert x["60"] - 4.0 - x["all"] >= 6.0, (x["all"], x["60"])
