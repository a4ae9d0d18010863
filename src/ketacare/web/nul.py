"""Find NUL characters in request input before they reach the database.

PostgreSQL cannot store U+0000 in text and refuses the whole statement, which would surface
as a 500. Requests that carry one anywhere (path, query string, JSON or form body) are
refused with 422 naming the field.
"""

from __future__ import annotations

import json
from email import policy
from email.parser import BytesParser
from urllib.parse import parse_qsl

REASON = "must not contain NUL (U+0000) characters"
_MARKERS = (b"\x00", b"%00", b"\\u0000")


def has_marker(data: bytes) -> bool:
    """Cheap check: could ``data`` hold a NUL (raw, percent-encoded or JSON-escaped)?"""
    return any(m in data for m in _MARKERS)


def in_query(query: bytes, where: str = "query") -> str | None:
    """The first query (or form) parameter holding a NUL, or None."""
    if not has_marker(query):
        return None
    for key, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
        if "\x00" in key or "\x00" in value:
            return key.replace("\x00", "") or where
    return None


def _walk(value: object, path: str) -> str | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if "\x00" in str(key):
                return here.replace("\x00", "")
            found = _walk(item, here)
            if found is not None:
                return found
    if isinstance(value, list):
        for i, item in enumerate(value):
            found = _walk(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def in_multipart(body: bytes, content_type: str) -> str | None:
    """The first ``multipart/form-data`` text field holding a NUL, or None.

    Text fields carry raw bytes (no percent-encoding), so only a raw NUL counts; a part with
    a file name is a file upload, whose bytes are the file's own (none is stored today).
    """
    if b"\x00" not in body:
        return None
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        return "form"  # a NUL in a body that does not parse: refuse it all the same
    for part in message.iter_parts():
        name = str(part.get_param("name", "", header="content-disposition") or "")
        if part.get_filename() is not None:
            continue
        payload = part.get_payload(decode=True)
        if "\x00" in name or (isinstance(payload, bytes) and b"\x00" in payload):
            return name.replace("\x00", "") or "form"
    return None


def in_body(body: bytes, content_type: str) -> str | None:
    """The first JSON or form field holding a NUL, or None (other bodies are not checked)."""
    if content_type.lower().startswith("multipart/form-data"):
        return in_multipart(body, content_type)
    if not has_marker(body):
        return None
    if content_type.startswith("application/x-www-form-urlencoded"):
        return in_query(body, "form")
    if "json" in content_type:
        try:
            parsed = json.loads(body)
        except ValueError:
            return None  # malformed JSON: the app's own 422 names it
        return _walk(parsed, "") or None
    return None
