"""Clearinghouse adapters: where a claim file goes. No live clearinghouse ships; the file drop
writes each interchange to a folder that a clearinghouse's SFTP client (or a person) picks up."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from ketacare.features._kit.files import private_dir


class Clearinghouse(Protocol):
    """Delivers one 837P interchange; returns where it went (a path or a receipt id)."""

    def deliver(self, name: str, content: str) -> str:
        """Deliver ``content`` under ``name`` (e.g. ``claim-000000001.837``)."""
        ...


class FileDrop:
    """Writes each claim to ``folder`` (created mode 700; files mode 600, never overwritten).

    Delivering the same name with the same content again is a no-op (a delivery whose
    database commit failed is retried safely)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def deliver(self, name: str, content: str) -> str:
        """Write the file atomically (temporary name, then rename); refuse to overwrite."""
        private_dir(self.folder)
        target = self.folder / name
        if target.exists():
            if target.read_text(encoding="ascii") == content:
                return str(target)
            raise FileExistsError(f"{name} already exists in the drop folder")
        tmp = self.folder / f".{name}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="ascii", newline="") as fh:
            fh.write(content)
        os.replace(tmp, target)
        return str(target)
