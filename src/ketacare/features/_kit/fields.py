"""Checks of free-text input shared by the features' services (refusals name the field)."""

from __future__ import annotations

from ketacare.features._kit.errors import BadRequest


def text_field(value: str, field: str, limit: int, required: bool = False) -> str:
    """``value`` trimmed; BadRequest naming ``field`` when it holds a NUL character, is longer
    than ``limit`` characters, or is empty while ``required``."""
    text = value.strip()
    if "\x00" in text:
        raise BadRequest("must not contain NUL characters", field)
    if len(text) > limit:
        raise BadRequest(f"must be at most {limit} characters", field)
    if required and not text:
        raise BadRequest("is required", field)
    return text
