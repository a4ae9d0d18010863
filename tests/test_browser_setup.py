"""The Chromium the browser tests launch: Playwright's own ``--disable-features`` list survives
the tests' additions (Chromium honours only the last such switch), read off the running
browser's command line."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser import (
    DISABLED_FEATURES,
    playwright_disabled_features,
    require_chromium,
    shared_chromium,
)

pytestmark = pytest.mark.browser


def _descendants_command_lines(root: int) -> list[list[str]]:
    """The command lines of ``root``'s descendant processes (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat[stat.rindex(")") + 2 :].split()[1])

    def descends(pid: int) -> bool:
        while pid in parents and pid != root:
            pid = parents[pid]
        return pid == root

    lines = []
    for pid in parents:
        if pid != root and descends(pid):
            try:
                raw = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            lines.append([part.decode(errors="replace") for part in raw.split(b"\0") if part])
    return lines


def test_chromium_keeps_playwrights_disabled_features_and_adds_ours() -> None:
    require_chromium()
    if not Path("/proc/self/stat").exists():
        pytest.skip("reads the browser's command line from Linux's /proc")
    defaults = playwright_disabled_features()
    assert defaults, "Playwright's list was not found in its driver"
    with shared_chromium() as browser:
        assert browser.is_connected()
        browsers = [
            line
            for line in _descendants_command_lines(os.getpid())
            if any(part.startswith("--remote-debugging-pipe") for part in line)
        ]
    assert browsers, "no Chromium browser process under this test process"
    for line in browsers:
        switches = [p.split("=", 1)[1] for p in line if p.startswith("--disable-features=")]
        assert switches, line
        honoured = set(switches[-1].split(","))  # Chromium takes the last one
        assert set(defaults) <= honoured
        assert set(DISABLED_FEATURES) <= honoured
