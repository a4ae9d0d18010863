"""Reminder delivery behind one small interface, with three adapters.

* ``smtp``: e-mail through the installation's SMTP settings (``KETACARE_SMTP_*``);
* ``webhook``: a JSON POST to ``KETACARE_SCHED_WEBHOOK_URL`` (an SMS gateway, or a relay to
  a notification service such as apprise-api, which fans out to 100+ providers);
* ``console``: a log line without the link's token (the default, for the demo).

Messages carry no clinical data: the clinic, the site, the local time and a link.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol

from ketacare.settings import Settings

log = logging.getLogger("ketacare.scheduling.notify")


class DeliveryFailed(Exception):
    """The message could not be handed to the transport (reason: an error class name)."""


@dataclass(frozen=True, slots=True)
class Reminder:
    """One message: address (e-mail or phone), subject and body (time, place, link)."""

    channel: str  # "email" or "sms"
    to: str
    subject: str
    body: str
    reminder_id: int


class Notifier(Protocol):
    """Delivers a message or raises :class:`DeliveryFailed`."""

    def send(self, message: Reminder) -> None:
        """Deliver ``message``."""
        ...


class ConsoleNotifier:
    """Logs that reminder N was made (no address, no link)."""

    def __init__(self) -> None:
        self.sent: list[int] = []

    def send(self, message: Reminder) -> None:
        """Log the reminder id and channel only."""
        log.info("reminder %s (%s) printed to log", message.reminder_id, message.channel)
        self.sent.append(message.reminder_id)


class SmtpNotifier:
    """E-mail through an SMTP server; SMS reminders are refused (no address)."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        user: str = "",
        password: str = "",
        tls: str = "starttls",
        timeout: float = 10.0,
    ) -> None:
        self.host, self.port, self.sender = host, port, sender
        self.user, self.password, self.tls, self.timeout = user, password, tls, timeout

    def send(self, message: Reminder) -> None:
        """Send one mail; transport errors become :class:`DeliveryFailed`."""
        if message.channel != "email" or "@" not in message.to:
            raise DeliveryFailed("NoEmailAddress")
        mail = EmailMessage()
        mail["From"], mail["To"], mail["Subject"] = self.sender, message.to, message.subject
        mail.set_content(message.body)
        try:
            smtp: smtplib.SMTP
            if self.tls == "ssl":
                ctx = ssl.create_default_context()
                smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ctx)
            else:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
                if self.tls == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
            with smtp:
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(type(exc).__name__) from None


class WebhookNotifier:
    """POSTs ``{"channel", "to", "subject", "body"}`` as JSON; any 2xx is delivered."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url, self.timeout = url, timeout

    def send(self, message: Reminder) -> None:
        """POST the message; a non-2xx answer or a transport error is a failure."""
        data = json.dumps(
            {
                "channel": message.channel,
                "to": message.to,
                "subject": message.subject,
                "body": message.body,
            }
        ).encode()
        request = urllib.request.Request(
            self.url, data=data, method="POST", headers={"content-type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if not 200 <= response.status < 300:
                    raise DeliveryFailed(f"HTTP{response.status}")
        except urllib.error.HTTPError as exc:
            raise DeliveryFailed(f"HTTP{exc.code}") from None
        except OSError as exc:
            raise DeliveryFailed(type(exc).__name__) from None


class Fanout:
    """E-mail through one adapter, SMS through another."""

    def __init__(self, email: Notifier, sms: Notifier) -> None:
        self.email, self.sms = email, sms

    def send(self, message: Reminder) -> None:
        """Route by channel."""
        (self.email if message.channel == "email" else self.sms).send(message)


def notifier_from_settings(settings: Settings, kind: str, webhook_url: str) -> Notifier:
    """The adapter named by ``KETACARE_SCHED_NOTIFIER`` (console, smtp, webhook)."""
    if kind == "console":
        return ConsoleNotifier()
    webhook = WebhookNotifier(webhook_url) if webhook_url else ConsoleNotifier()
    if kind == "webhook":
        return webhook
    smtp = SmtpNotifier(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        settings.smtp_user,
        settings.smtp_password.get_secret_value(),
        settings.smtp_tls,
        settings.smtp_timeout_s,
    )
    return Fanout(smtp, webhook)
