"""Helpers for browser tests: a real uvicorn server in a thread and Debian's Chromium."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI

CHROMIUM = os.environ.get("KETACARE_CHROMIUM", "/usr/bin/chromium")
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
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
