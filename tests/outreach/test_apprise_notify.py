"""The optional apprise adapter (features/outreach/apprise_notify.py, issue 17.4) behind the
one notifier interface: a reminder delivered through apprise to a local SMTP server
(``mailto://``) and to a local webhook (``json://``), chosen with
``KETACARE_SCHED_NOTIFIER=apprise``; failures as ``DeliveryFailed`` without the address; no
recipient or link in the log. Skipped without apprise (``pip install 'ketacare[apprise]'``),
except the refusal that names the extra."""

from __future__ import annotations

import json
import logging
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, ClassVar

import pytest

from ketacare.features.outreach import apprise_notify
from ketacare.features.outreach.notify import DeliveryFailed, Message, notifier_from_settings
from ketacare.settings import Settings
from tests.scheduling.support import smtp_server

REMINDER = Message(
    "ada@example.org",
    "Your visit on Monday 03 March, 10:00",
    "Clinic: your visit is on Monday 03 March, 10:00 at Main.\nhttp://x/b/secret-token\n",
    "http://x/b/secret-token",
    "reminder",
    7,
    None,
    "email",
    5,
)


def _need_apprise() -> None:
    try:
        apprise_notify.load_apprise()  # imports it without apprise's own deprecation warning
    except RuntimeError:
        pytest.skip("apprise is not installed (pip install 'ketacare[apprise]')")


class _Hook(BaseHTTPRequestHandler):
    calls: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        _Hook.calls.append((self.path, json.loads(self.rfile.read(length))))
        self.send_response(_Hook.status)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[int]:
    _Hook.calls, _Hook.status = [], 200
    server = HTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def test_without_apprise_the_choice_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "apprise", None)  # as if not installed
    with pytest.raises(RuntimeError, match=r"ketacare\[apprise\]"):
        apprise_notify.AppriseNotifier(["json://127.0.0.1:9/x"])


def test_reminder_by_apprise_mailto_to_local_smtp(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    _need_apprise()
    with smtp_server() as (port, sink):
        monkeypatch.setenv(
            "KETACARE_APPRISE_EMAIL_URLS",
            f"mailto://127.0.0.1:{port}?from=clinic@x.example&to={{to}}&secure=no",
        )
        notifier = notifier_from_settings(settings, "apprise")
        assert isinstance(notifier, apprise_notify.AppriseNotifier)
        assert notifier.delivered_as == "sent"
        with caplog.at_level(logging.DEBUG):
            notifier.send(REMINDER)
    assert len(sink.messages) == 1
    mail = sink.messages[0].decode()
    assert "To: ada@example.org" in mail and "/b/secret-token" in mail
    assert "Subject: Your visit on Monday 03 March, 10:00" in mail
    # apprise's own lines name the recipient and carry the link: none reach the log (the
    # test's SMTP server, aiosmtpd's ``mail.log``, is not ketacare's).
    ours = "\n".join(r.getMessage() for r in caplog.records if r.name != "mail.log")
    assert "ada@example.org" not in ours and "secret-token" not in ours


def test_sms_by_apprise_json_to_local_webhook_and_failures(
    hook: int, caplog: pytest.LogCaptureFixture
) -> None:
    _need_apprise()
    notifier = apprise_notify.AppriseNotifier(
        [], [f"json://127.0.0.1:{hook}/sms?to={{to}}"], sms_fallback=None
    )
    sms = Message("+15550100", "Your visit", "b http://x/b/t", "http://x/b/t", "reminder", 7,
                  channel="sms", reminder_id=6)  # fmt: skip
    notifier.send(sms)
    assert len(_Hook.calls) == 1
    path, body = _Hook.calls[0]
    assert path.startswith("/sms") and body["title"] == "Your visit"
    assert body["message"] == "b http://x/b/t"
    # No e-mail URL: refused, naming the channel only.
    with pytest.raises(DeliveryFailed, match="no apprise URL for email"):
        notifier.send(REMINDER)
    # The relay refuses: a failure without the address.
    _Hook.status = 500
    with caplog.at_level(logging.DEBUG), pytest.raises(DeliveryFailed) as failed:
        notifier.send(sms)
    assert "+1555" not in str(failed.value) and "+1555" not in caplog.text
