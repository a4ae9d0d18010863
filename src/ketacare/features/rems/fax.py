"""Fax adapters for PMF submission: an interface and a file-drop implementation.

No live fax service is wired in: :class:`FileDropFax` writes the PDF and a small JSON envelope
into a directory that a fax gateway (or a person) picks up. A real service implements
:class:`FaxSender` and returns the service's confirmation id.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Protocol


class FaxSender(Protocol):
    """Sends one PDF to a fax number; returns the confirmation to record."""

    def send(self, to: str, pdf: bytes, reference: str) -> str:
        """Send ``pdf`` to ``to`` (``reference`` names the document, no patient data)."""
        ...


class FileDropFax:
    """Writes ``<reference>.pdf`` and ``<reference>.json`` into ``directory`` (atomically)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def send(self, to: str, pdf: bytes, reference: str) -> str:
        """Drop the files; the confirmation is ``filedrop-`` and the PDF's first 12 hex digits."""
        self.directory.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256(pdf).hexdigest()
        envelope = {"to": to, "reference": reference, "sha256": digest, "pages": "pdf"}
        for suffix, data in ((".pdf", pdf), (".json", json.dumps(envelope).encode())):
            final = self.directory / f"{reference}{suffix}"
            tmp = final.with_suffix(suffix + ".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, final)
        return f"filedrop-{digest[:12]}"


def configured(directory: str) -> FaxSender | None:
    """The file-drop adapter for ``KETACARE_REMS_FAX_DIR`` (None when unset)."""
    return FileDropFax(Path(directory)) if directory.strip() else None
