"""An optional adapter of the outreach notifier (``notify.Notifier``) through apprise, the
notification library issue 17.4 names: one interface to 100+ e-mail and SMS providers, chosen
by URL (``mailto://``, ``twilio://``, ``json://`` to a relay, ...).

Optional: ``pip install 'ketacare[apprise]'``. apprise is imported when the adapter is built,
never at start-up, so the app and its tests run without it. Chosen with
``KETACARE_SCHED_NOTIFIER=apprise`` (visit reminders and waitlist offers) and configured with

* ``KETACARE_APPRISE_EMAIL_URLS``: apprise URLs for e-mail, comma-separated;
* ``KETACARE_APPRISE_SMS_URLS``: apprise URLs for SMS (empty: SMS only reach the log);

``{to}`` in a URL is replaced by the recipient (URL-quoted), e.g.
``mailtos://user:pass@smtp.example.org?from=clinic@example.org&to={to}``.

apprise logs recipients and message bodies (with the one-time link) at INFO and DEBUG, so its
logger is held at ERROR while this adapter sends; a failure is reported as
:class:`DeliveryFailed` naming no address, as the other adapters do.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from pydantic_settings import BaseSettings, SettingsConfigDict

from ketacare.features.outreach.notify import ConsoleNotifier, DeliveryFailed, Message, Notifier

MISSING = "apprise is not installed: pip install 'ketacare[apprise]'"


class AppriseSettings(BaseSettings):
    """``KETACARE_APPRISE_*``: the apprise URLs per channel."""

    model_config = SettingsConfigDict(
        env_prefix="KETACARE_APPRISE_", env_file=".env", extra="ignore", frozen=True
    )

    email_urls: str = ""
    sms_urls: str = ""


def _urls(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip())


def load_apprise() -> Any:
    """The apprise module, or a clear error naming the extra to install."""
    try:
        with warnings.catch_warnings():
            # apprise 2.x imports the standard library's deprecated ``imghdr``: not ours to fix.
            warnings.simplefilter("ignore", DeprecationWarning)
            return importlib.import_module("apprise")
    except ImportError:
        raise RuntimeError(MISSING) from None


@contextmanager
def _quiet() -> Iterator[None]:
    """Keep apprise's own log lines (recipients, bodies with links) out of the log, and its
    plug-ins' import of the deprecated ``imghdr`` (loaded on first use) out of the warnings."""
    logger = logging.getLogger("apprise")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            yield
    finally:
        logger.setLevel(level)


class AppriseNotifier:
    """Sends each message to the apprise URLs of its channel; any URL failing is a failure."""

    delivered_as = "sent"

    def __init__(
        self,
        email_urls: Sequence[str],
        sms_urls: Sequence[str] = (),
        sms_fallback: Notifier | None = None,
    ) -> None:
        self.apprise = load_apprise()
        self.email_urls, self.sms_urls = tuple(email_urls), tuple(sms_urls)
        self.sms_fallback = sms_fallback

    def send(self, message: Message) -> None:
        """Deliver ``message`` or raise :class:`DeliveryFailed`."""
        urls = self.email_urls if message.channel == "email" else self.sms_urls
        if not urls:
            if message.channel != "email" and self.sms_fallback is not None:
                self.sms_fallback.send(message)
                return
            raise DeliveryFailed(f"no apprise URL for {message.channel}")
        to = quote(message.to, safe="@+")
        with _quiet():
            client = self.apprise.Apprise()
            for url in urls:
                if not client.add(url.replace("{to}", to)):
                    raise DeliveryFailed("apprise URL not understood")
            try:
                ok = client.notify(title=message.subject, body=message.body)
            except Exception as exc:  # a provider plug-in's own error
                raise DeliveryFailed(type(exc).__name__) from None
        if not ok:
            raise DeliveryFailed("apprise: not delivered")


def apprise_from_env(show_links: bool = False) -> AppriseNotifier:
    """The adapter configured by ``KETACARE_APPRISE_*`` (SMS fall back to the console when no
    SMS URL is set, like the SMTP adapter without a webhook)."""
    cfg = AppriseSettings()
    return AppriseNotifier(
        _urls(cfg.email_urls), _urls(cfg.sms_urls), ConsoleNotifier(show_links=show_links)
    )
