"""Delivery of assessment links, alert escalations and visit reminders: one interface, four
adapters.

* ``console``: a log line (the default, for the demo). A link's one-time token is redacted
  (``KETACARE_CONSOLE_SHOW_LINKS=true`` prints it; staff can show and copy a fresh link on the
  patient's page); a reminder names only its id and channel;
* ``smtp``: mail with :mod:`smtplib` using the ``KETACARE_SMTP_*`` settings;
* ``webhook``: a JSON POST (an SMS gateway, or a relay to a notification service such as
  apprise-api, which fans out to 100+ providers);
* :class:`Fanout`: e-mail through one adapter, SMS through another;
* ``apprise`` (optional extra, ``apprise_notify.py``): e-mail and SMS through apprise URLs.

Messages never carry answers, scores or patient names: a link message says only that the
clinic asks for a short questionnaire; a reminder the clinic, the site, the local time and a
link. Was ``assessments/notify.py`` and ``scheduling/notify.py`` (two copies of the SMTP code).
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol, TextIO

from ketacare.settings import Settings

log = logging.getLogger("ketacare.outreach.notify")


class DeliveryFailed(Exception):
    """The message could not be handed to the transport."""


@dataclass(frozen=True, slots=True)
class Message:
    """One notification. ``patient_id``/``alert_id``/``reminder_id`` identify it in logs;
    ``url`` is the link; ``channel`` is ``email`` or ``sms`` (``to`` is then a phone number)."""

    to: str
    subject: str
    body: str
    url: str
    kind: str  # "link", "escalation", "reminder" or "offer" (reminder_id: the waitlist entry)
    patient_id: int | None = None
    alert_id: int | None = None
    channel: str = "email"
    reminder_id: int | None = None


class Notifier(Protocol):
    """Sends one message or raises :class:`DeliveryFailed`.

    ``delivered_as`` is the delivery state recorded when ``send`` returns: ``sent`` when the
    message left for the patient, ``logged`` when it was only printed to the server log.
    """

    delivered_as: str

    def send(self, message: Message) -> None:
        """Deliver ``message``."""
        ...


class ConsoleNotifier:
    """Prints the patient (or alert) id and the URL; a link's one-time token is redacted unless
    ``show_links`` (a working link in a log is a credential anyone reading the log can use).
    A reminder is logged by id and channel only (no address, no link)."""

    delivered_as = "logged"

    def __init__(self, stream: TextIO | None = None, show_links: bool = False) -> None:
        self.stream, self.show_links = stream, show_links

    def send(self, message: Message) -> None:
        """Write one line to the stream (stdout by default); a reminder to the log."""
        if message.kind in ("reminder", "offer"):
            # Both links act for the patient: logged by record id and channel only.
            log.info("%s %s (%s) printed to log", message.kind, message.reminder_id,
                     message.channel)  # fmt: skip
            return
        who = f"patient {message.patient_id}" if message.patient_id else f"alert {message.alert_id}"
        url = message.url
        if message.kind == "link" and not self.show_links:
            url = (
                url.rsplit("/", 1)[0] + "/<redacted: staff can show the link on the patient's page>"
            )
        print(f"[ketacare {message.kind}] {who}: {url}", file=self.stream or sys.stdout)


class SmtpNotifier:
    """Sends mail through an SMTP server (STARTTLS, implicit TLS, or plain for a local relay);
    SMS messages are refused (no address)."""

    delivered_as = "sent"

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

    def _connect(self) -> smtplib.SMTP:
        if self.tls == "ssl":
            ctx = ssl.create_default_context()
            return smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=ctx)
        smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        if self.tls == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send(self, message: Message) -> None:
        """Send one mail; any transport error becomes :class:`DeliveryFailed`."""
        # The reasons stay those each sender recorded before the two copies were merged.
        if message.channel != "email" or (message.kind == "reminder" and "@" not in message.to):
            raise DeliveryFailed("NoEmailAddress")
        if not message.to:
            raise DeliveryFailed("no address")
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail.set_content(message.body)
        try:
            with self._connect() as smtp:
                if self.user:
                    smtp.login(self.user, self.password)
                smtp.send_message(mail)
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryFailed(type(exc).__name__) from None


class WebhookNotifier:
    """POSTs ``{"channel", "to", "subject", "body"}`` as JSON; any 2xx is delivered."""

    delivered_as = "sent"

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url, self.timeout = url, timeout

    def send(self, message: Message) -> None:
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
    """E-mail through one adapter, SMS through another (delivered as the e-mail adapter)."""

    def __init__(self, email: Notifier, sms: Notifier) -> None:
        self.email, self.sms = email, sms
        self.delivered_as = email.delivered_as

    def send(self, message: Message) -> None:
        """Route by channel."""
        (self.email if message.channel == "email" else self.sms).send(message)


def notifier_from_settings(
    settings: Settings, kind: str | None = None, webhook_url: str = ""
) -> Notifier:
    """The adapter named by ``kind``: ``KETACARE_NOTIFIER`` (console or smtp) when None, as
    for assessment links and alert mails; reminders pass ``KETACARE_SCHED_NOTIFIER`` (console,
    smtp, webhook) and ``KETACARE_SCHED_WEBHOOK_URL`` (SMS go through the webhook, else the
    console)."""
    kind = settings.notifier if kind is None else kind
    console = ConsoleNotifier(show_links=settings.console_show_links)
    if kind == "console":
        return console
    if kind == "apprise":  # the optional extra (apprise_notify.py), imported only when chosen
        from ketacare.features.outreach.apprise_notify import apprise_from_env

        return apprise_from_env(settings.console_show_links)
    sms: Notifier = WebhookNotifier(webhook_url) if webhook_url else console
    if kind == "webhook":
        return sms
    smtp = SmtpNotifier(
        settings.smtp_host,
        settings.smtp_port,
        settings.smtp_from,
        settings.smtp_user,
        settings.smtp_password.get_secret_value(),
        settings.smtp_tls,
        settings.smtp_timeout_s,
    )
    return Fanout(smtp, sms)
