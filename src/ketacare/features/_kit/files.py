"""Files that hold patient data: created private (0600, directories 0700), and kept only
once the audit event of their disclosure has been committed."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def private_dir(path: Path) -> None:
    """Create ``path`` (and its parents) readable by the owner only, if missing."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def create_private(path: Path) -> None:
    """Create an empty file readable by the owner only; FileExistsError if it exists."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A private temporary file beside ``out``, renamed to ``out`` when the block succeeds
    and removed when it raises: open the unit of work (whose commit records the export)
    inside this block, so the file exists only once its audit event is committed."""
    if out.parent != Path(""):
        private_dir(out.parent)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.partial")
    tmp.unlink(missing_ok=True)
    create_private(tmp)
    try:
        yield tmp
        os.replace(tmp, out)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
