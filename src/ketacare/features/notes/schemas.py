"""JSON bodies of the notes API (unknown fields refused; errors name the field)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ketacare.features._kit.params import MAX_ID

_STRICT = ConfigDict(extra="forbid")
Texts = dict[str, str]


class NoteCreate(BaseModel):
    """A new draft from a template; ``sections`` (by section id) replace the pre-filled text."""

    model_config = _STRICT
    template: str = Field(min_length=1, max_length=64, description="A template key.")
    session_id: int | None = Field(None, ge=1, le=MAX_ID)
    sections: Texts = Field(default_factory=dict, max_length=30)


class NoteUpdate(BaseModel):
    """New texts of a draft, by section id, and the version they were written on."""

    model_config = _STRICT
    sections: Texts = Field(max_length=30)
    version: int = Field(ge=1, le=MAX_ID)


class NoteSign(BaseModel):
    """The version being signed (omit to sign the current one)."""

    model_config = _STRICT
    version: int | None = Field(None, ge=1, le=MAX_ID)


class AddendumCreate(BaseModel):
    """The text of an addendum (may be empty: a draft to write in later)."""

    model_config = _STRICT
    text: str = Field("", max_length=20_000)


class TemplateCreate(BaseModel):
    """A clinic's template (docs/notes.md, "Templates"); the version is assigned."""

    model_config = _STRICT
    key: str = Field(min_length=1, max_length=64)
    kind: str = Field(min_length=1, max_length=32)
    title: str = Field(min_length=1, max_length=200)
    sections: list[dict[str, Any]] = Field(min_length=1, max_length=30)
