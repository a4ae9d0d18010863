"""Helpers for browser tests: a real uvicorn server in a thread and Debian's Chromium."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import playwright
import pytest
import uvicorn
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

from ketacare.features._kit.deps import app_now
from ketacare.features.auth import service as accounts
from ketacare.features.auth.deps import SESSION_COOKIE, session_policy
from tests.conftest import PASSWORD

CHROMIUM = os.environ.get("KETACARE_CHROMIUM", "/usr/bin/chromium")
#: Chromium features the tests turn off, beyond Playwright's own list. RenderDocument makes a
#: new frame host (and a new renderer-side document) on every navigation: with it off, page
#: visits like the walk's cost Chromium about a quarter less CPU (benchmarks/chromium_nav.py;
#: benchmarks/README.md, "Suite, ninth session"). It changes no page's behaviour; Playwright
#: and Puppeteer have each shipped with it off.
DISABLED_FEATURES = ("RenderDocument",)


@cache
def playwright_disabled_features() -> tuple[str, ...]:
    """The features the installed Playwright turns off with its own ``--disable-features``,
    read from its driver (the list is not exposed otherwise); empty if it cannot be found.

    Chromium honours only the last ``--disable-features`` switch, so one that adds features
    must repeat Playwright's list or it would turn those back on (tests/test_browser_setup.py
    reads the running browser's command line)."""
    lib = Path(playwright.__file__).parent / "driver" / "package" / "lib"
    for path in sorted(lib.rglob("*.js")) if lib.is_dir() else []:
        text = path.read_text("utf-8", errors="replace")
        found = re.search(r"disabledFeatures\s*=\s*\[(.*?)\]", text, re.DOTALL)
        if found:
            body = re.sub(r"//[^\n]*", "", found.group(1))
            return tuple(re.findall(r"[\"']([A-Za-z0-9_]+)[\"']", body))
    return ()


def chromium_args() -> list[str]:
    """The switches every test launches Chromium with (``CHROMIUM_ARGS``)."""
    features = playwright_disabled_features()
    extra = [f"--disable-features={','.join(features + DISABLED_FEATURES)}"] if features else []
    return [*CHROMIUM_ARGS, *extra]


CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


REPO = Path(__file__).resolve().parent.parent


def screenshot_path(name: str) -> Path:
    """Where a browser test saves its screenshot ``name``.

    ``docs/screenshots/`` (shown in the README) with ``KETACARE_UPDATE_SCREENSHOTS=1``; else a
    temporary directory, so a test run leaves the work tree as it found it.
    """
    if os.environ.get("KETACARE_UPDATE_SCREENSHOTS") == "1":
        folder = REPO / "docs" / "screenshots"
    else:
        folder = Path(tempfile.gettempdir()) / "ketacare-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def require_chromium() -> str:
    """Chromium's path; skip (or fail when CI=true) if it is not installed."""
    if shutil.which(CHROMIUM) or os.path.exists(CHROMIUM):
        return CHROMIUM
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"Chromium is required when CI=true but {CHROMIUM} is missing")
    pytest.skip(f"Chromium not found at {CHROMIUM}; `apt-get install chromium` to run this test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


#: The app each running ``live_server`` serves, by base URL (``sign_in`` opens its sessions).
_served: dict[str, FastAPI] = {}


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    _served[base] = app
    try:
        yield base
    finally:
        _served.pop(base, None)
        server.should_exit = True
        thread.join(timeout=10)


_shared: dict[str, Any] = {"depth": 0}


def _start_shared() -> tuple[Playwright, Browser]:
    if _shared["depth"] == 0 and "loop" in _shared:
        # Between blocks the driver's loop is unmarked (see shared_chromium()); mark it again
        # before the next sync call.
        asyncio._set_running_loop(_shared["loop"])
    if "browser" in _shared and not _shared["browser"].is_connected():
        stop_shared_chromium()  # Chromium died in an earlier test: start afresh
    if "browser" not in _shared:
        executable = require_chromium()
        pw = sync_playwright().start()
        _shared["pw"] = pw
        _shared["loop"] = asyncio.get_running_loop()
        _shared["browser"] = pw.chromium.launch(executable_path=executable, args=chromium_args())
    return _shared["pw"], _shared["browser"]


@contextmanager
def shared_chromium() -> Iterator[Browser]:
    """The worker's one Playwright driver and Chromium (started at first use).

    Starting the Playwright driver and launching Chromium cost about 2 s per test on a quiet
    machine (some 60 launches a run); one browser per worker, with a fresh context per page,
    keeps each test's cookies and storage its own: the contexts the block opened are closed
    when it ends.

    Playwright's sync API marks its event loop as running in this thread; while no block is
    open the mark is lifted, so a later test in the worker can still call ``asyncio.run``.
    Blocks nest (a module fixture may hold one open while its tests use the browser).
    """
    _, browser = _start_shared()
    _shared["depth"] += 1
    before = set(browser.contexts)
    try:
        yield browser
    finally:
        try:
            if browser.is_connected():
                for context in browser.contexts:
                    if context not in before:
                        context.close()
        finally:
            _shared["depth"] -= 1
            if _shared["depth"] == 0:
                asyncio._set_running_loop(None)


def shared_playwright() -> Playwright:
    """The worker's Playwright driver (for ``request`` contexts), inside a shared_chromium block."""
    assert _shared["depth"] > 0, "use inside `with shared_chromium()`"
    pw: Playwright = _shared["pw"]
    return pw


def stop_shared_chromium() -> None:
    """Close the worker's Chromium and its driver (at the end of the session)."""
    if "pw" not in _shared:
        return
    asyncio._set_running_loop(_shared["loop"])
    try:
        if _shared["browser"].is_connected():
            _shared["browser"].close()
    finally:
        _shared["pw"].stop()
        for key in ("pw", "browser", "loop"):
            _shared.pop(key, None)
        if _shared["depth"] == 0:
            asyncio._set_running_loop(None)


def log_in(page: Page, base: str, email: str, password: str = PASSWORD) -> None:
    """Sign in through the login form as a user does, and wait until the app has left it.

    For the tests whose subject is the login (the form, its throttling, a new or reset
    password, where each role lands) and the walks that follow a user from the login on.
    Other tests start signed in with ``sign_in``."""
    page.goto(f"{base}/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login" not in url)


def sign_in(page: Page, base: str, email: str, then: str | None = "/home") -> None:
    """Start ``page`` signed in as ``email`` on the ``live_server`` at ``base``, then open
    ``then`` (None: stay on the page).

    The session is opened as the login form opens it, by ``auth.service.start_session`` on
    the served app's database with the app's clock and session policy, and its cookie is
    given to the page's context; the form is not loaded. The login form is tested in
    Chromium where it is the subject (``log_in``: tests/test_browser_auth.py, the role walks,
    the homes, new and reset passwords); a test whose subject comes after the login starts
    here, as Playwright's guide advises ("reuse the signed-in state"). Loading and posting
    the form cost some 0.5 s of CPU a login: a test's login and first page in a new context
    took 1.1 s with the form, 0.6 s this way (``benchmarks/suite_login.py``).
    tests/test_browser_auth.py checks that both give the same cookie and the same pages."""
    app = _served[base]
    settings = app.state.settings
    with app.state.sessions() as db:
        user = accounts.user_by_email(db, email)
        assert user is not None and user.is_active, f"no active user {email}"
        token = accounts.start_session(
            db,
            settings.secret_key.get_secret_value(),
            user,
            session_policy(settings),
            app_now(app),  # the app's clock, as the form's NowDep
        )
        db.commit()
    page.context.add_cookies(
        [
            {
                "name": SESSION_COOKIE,
                "value": token,
                "url": base,
                "httpOnly": True,
                "sameSite": "Lax",
                "secure": settings.secure_cookies,
                "expires": time.time() + settings.session_max_age_hours * 3600,
            }
        ]
    )
    if then is not None:
        page.goto(f"{base}{then}")
