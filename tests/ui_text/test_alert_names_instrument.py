"""Every safety-flag alert names its instrument (issue 13 point 20: the MADRS item-10 alert
said only "Item 10 (suicidal thoughts) ...")."""

from __future__ import annotations

from ketacare.domain.instruments import score
from ketacare.domain.mbc.alerts import evaluate_alerts


def test_madrs_item10_alert_names_madrs() -> None:
    answers = [0] * 9 + [2]
    alerts = [a for a in evaluate_alerts(score("madrs", answers)) if a.rule_id.startswith("flag.")]
    assert alerts, "MADRS item 10 above 0 raises a flag alert"
    assert alerts[0].reason.startswith("MADRS item 10 (suicidal thoughts)")
