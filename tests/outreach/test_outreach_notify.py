"""The one notifier (features/outreach/notify.py) that assessment links, alert escalations and
visit reminders go through: adapter choice, routing and refusals (no network needed: the
refusals come before any connection; delivery through a local SMTP server and webhook is in
tests/assessments/test_assessments_smtp.py and tests/scheduling/test_reminders.py)."""

from __future__ import annotations

import io
import logging

import pytest

from ketacare.features.outreach.notify import (
    ConsoleNotifier,
    DeliveryFailed,
    Fanout,
    Message,
    SmtpNotifier,
    WebhookNotifier,
    notifier_from_settings,
)
from ketacare.settings import Settings

LINK = Message("robin@example.org", "s", "b", "http://x/a/secret", "link", 7)
REMINDER = Message(
    "+15550100", "Your visit", "b", "http://x/b/secret", "reminder", 7, None, "sms", 5
)


def test_adapters_chosen_by_the_settings(settings: Settings) -> None:
    assert isinstance(notifier_from_settings(settings), ConsoleNotifier)  # the default
    smtp = notifier_from_settings(settings.model_copy(update={"notifier": "smtp"}))
    assert isinstance(smtp, Fanout) and isinstance(smtp.email, SmtpNotifier)
    assert smtp.delivered_as == "sent"
    assert isinstance(smtp.sms, ConsoleNotifier)  # no webhook: SMS only reach the log
    hook = notifier_from_settings(settings, "webhook", "http://127.0.0.1:9/hook")
    assert isinstance(hook, WebhookNotifier) and hook.delivered_as == "sent"
    assert isinstance(notifier_from_settings(settings, "webhook", ""), ConsoleNotifier)
    both = notifier_from_settings(settings, "smtp", "http://127.0.0.1:9/hook")
    assert isinstance(both, Fanout) and isinstance(both.sms, WebhookNotifier)


def test_fanout_routes_by_channel() -> None:
    email, sms = io.StringIO(), io.StringIO()
    fan = Fanout(ConsoleNotifier(email, show_links=True), ConsoleNotifier(sms, show_links=True))
    fan.send(LINK)
    fan.send(Message("+15550100", "s", "b", "http://x/a/t2", "link", 8, channel="sms"))
    assert email.getvalue() == "[ketacare link] patient 7: http://x/a/secret\n"
    assert sms.getvalue() == "[ketacare link] patient 8: http://x/a/t2\n"
    assert fan.delivered_as == "logged"


def test_console_reminder_names_only_its_id_and_channel(caplog: pytest.LogCaptureFixture) -> None:
    out = io.StringIO()
    with caplog.at_level(logging.INFO, logger="ketacare.outreach.notify"):
        ConsoleNotifier(out, show_links=True).send(REMINDER)
    assert out.getvalue() == ""
    assert "reminder 5 (sms) printed to log" in caplog.text
    assert "secret" not in caplog.text and "+1555" not in caplog.text


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        (REMINDER, "NoEmailAddress"),  # an SMS has no e-mail address
        (
            Message("", "s", "b", "u", "reminder", 7, channel="email", reminder_id=5),
            "NoEmailAddress",
        ),
        (Message("not-an-address", "s", "b", "u", "reminder", reminder_id=5), "NoEmailAddress"),
        (Message("", "s", "b", "u", "link", 7), "no address"),
        (Message("", "s", "b", "u", "escalation", alert_id=3), "no address"),
    ],
)
def test_smtp_refuses_a_message_without_an_address(message: Message, reason: str) -> None:
    with pytest.raises(DeliveryFailed, match=reason):
        SmtpNotifier("127.0.0.1", 9, "clinic@example.org", tls="none").send(message)
