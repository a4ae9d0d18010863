"""Note templates: structured sections defined as data, validated from JSON.

A template has a ``key`` (letters, digits, ``-``), a ``version``, a ``kind`` (one of
:data:`KINDS`), a ``title`` and 1 to :data:`MAX_SECTIONS` sections. A section has an ``id``
(lower-case letters, digits, ``_``; unique in the template), a ``title``, an optional ``hint``
shown beside the text box and an optional ``prefill``: ``scores`` (the latest score per
instrument, with its band) or ``intake`` (the intake verdict: eligibility, TRD stage), filled in
when a draft is made. The default set ships in ``data/templates.json``; a clinic adds its own
versions (``ketacare notes template-add``, ``POST /api/v1/note-templates``).

Examples
--------
>>> t = parse_template({"key": "brief", "kind": "progress", "title": "Brief",
...                     "sections": [{"id": "plan", "title": "Plan"}]})
>>> (t.key, t.version, t.kind, [s.id for s in t.sections])
('brief', 1, 'progress', ['plan'])
>>> sorted(t.key for t in default_templates())
['nursing-note', 'progress-note', 'psychiatric-evaluation']
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from ketacare.domain.errors import InvalidAnswer

#: Kinds of note: a psychiatric evaluation, a progress note, a nursing note (in a session).
KINDS: tuple[str, ...] = ("psychiatric_evaluation", "progress", "nursing")
KIND_LABELS: dict[str, str] = {
    "psychiatric_evaluation": "Psychiatric evaluation",
    "progress": "Progress note",
    "nursing": "Nursing note",
}
PREFILLS: tuple[str, ...] = ("scores", "intake")
MAX_SECTIONS = 30
MAX_TITLE = 200
MAX_HINT = 500
MAX_VERSION = 10_000
_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,63}$")
_SECTION_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_FORMAT = "ketacare-note-templates/1"


@dataclass(frozen=True, slots=True)
class Section:
    """One section of a template."""

    id: str
    title: str
    hint: str = ""
    prefill: str | None = None


@dataclass(frozen=True, slots=True)
class NoteTemplate:
    """A version of a note template."""

    key: str
    version: int
    kind: str
    title: str
    sections: tuple[Section, ...]

    def as_dict(self) -> dict[str, Any]:
        """The template as JSON (the shape :func:`parse_template` reads).

        >>> parse_template({"key": "a", "kind": "nursing", "title": "A",
        ...   "sections": [{"id": "n", "title": "N", "prefill": "scores"}]}).as_dict()["sections"]
        [{'id': 'n', 'title': 'N', 'hint': '', 'prefill': 'scores'}]
        """
        return {
            "key": self.key,
            "version": self.version,
            "kind": self.kind,
            "title": self.title,
            "sections": [
                {"id": s.id, "title": s.title, "hint": s.hint, "prefill": s.prefill}
                for s in self.sections
            ],
        }


def _text(data: Mapping[str, Any], name: str, field: str, limit: int, required: bool) -> str:
    value = data.get(name, "")
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise InvalidAnswer(field, "must be text")
    value = value.strip()
    if "\x00" in value:
        raise InvalidAnswer(field, "must not contain NUL characters")
    if required and not value:
        raise InvalidAnswer(field, "is required")
    if len(value) > limit:
        raise InvalidAnswer(field, f"must be at most {limit} characters")
    return value


def _section(data: object, field: str) -> Section:
    if not isinstance(data, Mapping):
        raise InvalidAnswer(field, "must be an object with id and title")
    unknown = set(data) - {"id", "title", "hint", "prefill"}
    if unknown:
        raise InvalidAnswer(f"{field}.{sorted(unknown)[0]}", "unknown field")
    sid = _text(data, "id", f"{field}.id", 40, True)
    if not _SECTION_ID.match(sid):
        raise InvalidAnswer(f"{field}.id", "lower-case letters, digits and '_', from a letter")
    prefill = data.get("prefill")
    if prefill is not None and prefill not in PREFILLS:
        raise InvalidAnswer(f"{field}.prefill", "must be scores, intake or absent")
    return Section(
        id=sid,
        title=_text(data, "title", f"{field}.title", MAX_TITLE, True),
        hint=_text(data, "hint", f"{field}.hint", MAX_HINT, False),
        prefill=prefill,
    )


def parse_template(data: object) -> NoteTemplate:
    """Validate one template (a JSON object); :class:`InvalidAnswer` names the field.

    >>> try:
    ...     parse_template({"key": "x", "kind": "letter", "title": "X", "sections": []})
    ... except InvalidAnswer as exc:
    ...     print(exc.field)
    kind
    >>> parse_template({"key": "x", "kind": "progress", "title": "X",
    ...   "sections": [{"id": "a", "title": "A"}, {"id": "a", "title": "B"}]})
    Traceback (most recent call last):
    ...
    ketacare.domain.errors.InvalidAnswer: sections[2].id: repeats section 'a'
    """
    if not isinstance(data, Mapping):
        raise InvalidAnswer("template", "must be a JSON object")
    unknown = set(data) - {"key", "version", "kind", "title", "sections"}
    if unknown:
        raise InvalidAnswer(sorted(unknown)[0], "unknown field")
    key = _text(data, "key", "key", 64, True)
    if not _KEY.match(key):
        raise InvalidAnswer("key", "lower-case letters, digits and '-'")
    version = data.get("version", 1)
    if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_VERSION:
        raise InvalidAnswer("version", f"must be a whole number from 1 to {MAX_VERSION}")
    kind = data.get("kind")
    if kind not in KINDS:
        raise InvalidAnswer("kind", "must be one of " + ", ".join(KINDS))
    sections = data.get("sections")
    if not isinstance(sections, list) or not 1 <= len(sections) <= MAX_SECTIONS:
        raise InvalidAnswer("sections", f"must list 1 to {MAX_SECTIONS} sections")
    parsed: list[Section] = []
    for i, raw in enumerate(sections, start=1):
        s = _section(raw, f"sections[{i}]")
        if any(p.id == s.id for p in parsed):
            raise InvalidAnswer(f"sections[{i}].id", f"repeats section '{s.id}'")
        parsed.append(s)
    return NoteTemplate(
        key=key,
        version=version,
        kind=str(kind),
        title=_text(data, "title", "title", MAX_TITLE, True),
        sections=tuple(parsed),
    )


def parse_template_file(data: object) -> list[NoteTemplate]:
    """A template file: ``{"format": "ketacare-note-templates/1", "templates": [...]}`` or one
    template object; a problem names ``templates[n].field``.

    >>> [t.key for t in parse_template_file({"key": "a", "kind": "nursing", "title": "A",
    ...                                      "sections": [{"id": "n", "title": "N"}]})]
    ['a']
    >>> parse_template_file({"format": "ketacare-note-templates/1", "templates": [{}]})
    Traceback (most recent call last):
    ...
    ketacare.domain.errors.InvalidAnswer: templates[1].key: is required
    """
    if isinstance(data, Mapping) and "templates" in data:
        if data.get("format") != _FORMAT:
            raise InvalidAnswer("format", f"must be {_FORMAT}")
        items = data["templates"]
        if not isinstance(items, list) or not items:
            raise InvalidAnswer("templates", "must list at least one template")
        out = []
        for i, item in enumerate(items, start=1):
            try:
                out.append(parse_template(item))
            except InvalidAnswer as exc:
                raise InvalidAnswer(f"templates[{i}].{exc.field}", exc.reason) from None
        return out
    return [parse_template(data)]


@cache
def default_templates() -> tuple[NoteTemplate, ...]:
    """The default set shipped with ketacare (``data/templates.json``)."""
    text = resources.files(__package__).joinpath("data/templates.json").read_text("utf-8")
    return tuple(parse_template_file(json.loads(text)))


#: The one-section template of an addendum (kept with the note it amends).
ADDENDUM = Section(id="addendum", title="Addendum", hint="What is added or corrected, and why.")
