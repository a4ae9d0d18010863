"""Read clinic protocol files from a directory; validation is the pure domain's job."""

from __future__ import annotations

import json
from pathlib import Path

from ketacare.domain.course.protocols import (
    Protocol,
    ProtocolError,
    merge_protocols,
    parse_protocol,
)


def load_protocol_file(path: Path) -> Protocol:
    """Read and validate one protocol file; errors name the path and the reason."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except OSError as exc:
        raise ProtocolError(str(path), "(file)", f"cannot be read: {exc.strerror}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ProtocolError(str(path), "(file)", f"is not valid JSON: {exc}") from None
    return parse_protocol(data, str(path))


def load_protocols(directory: Path | None = None) -> dict[str, Protocol]:
    """Built-in protocols plus every ``*.json`` file in ``directory`` (sorted by name).

    Raises
    ------
    ProtocolError
        For the first invalid file, naming its path, the field and the reason.
    """
    if directory is None:
        return merge_protocols(())
    if not directory.is_dir():
        raise ProtocolError(str(directory), "(directory)", "is not a directory")
    files = sorted(directory.glob("*.json"))
    return merge_protocols((str(f), load_protocol_file(f)) for f in files)
