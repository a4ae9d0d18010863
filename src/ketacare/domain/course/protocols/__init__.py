"""Built-in treatment protocols (package data) and protocol registry helpers.

Built-in files live in ``ketacare/domain/course/protocols/data/*.json`` and are read with
:mod:`importlib.resources` (the only I/O the domain does). Clinic files from a directory are
read by ``ketacare.features.intake.protocol_files`` and validated here by
:func:`~ketacare.domain.course.protocols.model.parse_protocol`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from typing import Any

from ketacare.domain.course.protocols.model import (
    DoseRule,
    Phase,
    Protocol,
    ProtocolError,
    Variant,
    parse_protocol,
)

__all__ = [
    "DoseRule",
    "Phase",
    "Protocol",
    "ProtocolError",
    "Variant",
    "builtin_protocols",
    "merge_protocols",
    "parse_protocol",
    "protocol_schema",
]


@cache
def builtin_protocols() -> Mapping[str, Protocol]:
    """Return the built-in protocols by id (validated once, then cached)."""
    out: dict[str, Protocol] = {}
    data = resources.files("ketacare.domain.course.protocols").joinpath("data")
    for entry in sorted(data.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".json"):
            p = parse_protocol(json.loads(entry.read_text("utf-8")), f"builtin:{entry.name}")
            out[p.id] = p
    return out


def protocol_schema() -> dict[str, Any]:
    """Return the JSON Schema (draft 2020-12) of a protocol file."""
    text = resources.files("ketacare.domain.course.protocols").joinpath("protocol.schema.json")
    schema: dict[str, Any] = json.loads(text.read_text("utf-8"))
    return schema


def merge_protocols(extra: Iterable[tuple[str, Protocol]]) -> dict[str, Protocol]:
    """Built-ins plus clinic protocols given as ``(origin, protocol)``.

    Raises
    ------
    ProtocolError
        When a clinic protocol reuses an id that is already defined.
    """
    out = dict(builtin_protocols())
    for origin, p in extra:
        if p.id in out:
            raise ProtocolError(origin, "id", f"{p.id!r} is already defined; choose a new id")
        out[p.id] = p
    return out
