"""Delivery of assessment links and alert escalations: a protocol and two adapters.

Messages never carry answers, scores or patient names: a link message says only that the
clinic asks for a short questionnaire. The console adapter prints the patient id and the link
with its token redacted (``KETACARE_CONSOLE_SHOW_LINKS=true`` prints it; staff can show and
copy a fresh link on the patient's page); the SMTP adapter sends mail
with :mod:`smtplib` using the ``KETACARE_SMTP_*`` settings.
"""

from __future__ import annotations

import smtplib
import ssl
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Protocol, TextIO

from ketacare.settings import Settings


class DeliveryFailed(Exception):
    """The message could not be handed to the transport."""


@dataclass(frozen=True, slots=True)
class Message:
    """One notification. ``patient_id``/``alert_id`` identify it in logs; ``url`` is the link."""

    to: str
    subject: str
    body: str
    url: str
    kind: str  # "link" or "escalation"
    patient_id: int | None = None
    alert_id: int | None = None


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
    ``show_links`` (a working link in a log is a credential anyone reading the log can use)."""

    delivered_as = "logged"

    def __init__(self, stream: TextIO | None = None, show_links: bool = False) -> None:
        self.stream, self.show_links = stream, show_links

    def send(self, message: Message) -> None:
        """Write one line to the stream (stdout by default)."""
        who = f"patient {message.patient_id}" if message.patient_id else f"alert {message.alert_id}"
        url = message.url
        if message.kind == "link" and not self.show_links:
            url = (
                url.rsplit("/", 1)[0] + "/<redacted: staff can show the link on the patient's page>"
            )
        print(f"[ketacare {message.kind}] {who}: {url}", file=self.stream or sys.stdout)


class SmtpNotifier:
    """Sends mail through an SMTP server (STARTTLS, implicit TLS, or plain for a local relay)."""

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


def notifier_from_settings(settings: Settings) -> Notifier:
    """The adapter chosen by ``KETACARE_NOTIFIER``."""
    if settings.notifier == "smtp":
        return SmtpNotifier(
            settings.smtp_host,
            settings.smtp_port,
            settings.smtp_from,
            settings.smtp_user,
            settings.smtp_password.get_secret_value(),
            settings.smtp_tls,
            settings.smtp_timeout_s,
        )
    return ConsoleNotifier(show_links=settings.console_show_links)
