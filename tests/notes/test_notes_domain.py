"""Edges of the note-template rules (``ketacare.domain.notes``): each refusal names its field;
with the doctests, every line of the package runs (issue 16.9)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.notes.compose import (
    ScoreLine,
    SectionText,
    VerdictSummary,
    document,
    intake_text,
    scores_text,
)
from ketacare.domain.notes.templates import parse_template, parse_template_file

OK: dict[str, Any] = {"key": "k", "kind": "progress", "title": "T",
                      "sections": [{"id": "a", "title": "A"}]}  # fmt: skip


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"extra": 1}, "extra"),
        ({"key": 5}, "key"),
        ({"key": "Bad Key"}, "key"),
        ({"key": None}, "key"),
        ({"key": "a\x00"}, "key"),
        ({"title": "x" * 201}, "title"),
        ({"version": True}, "version"),
        ({"version": 0}, "version"),
        ({"sections": []}, "sections"),
        ({"sections": "a"}, "sections"),
        ({"sections": ["a"]}, "sections[1]"),
        ({"sections": [{"id": "a", "title": "A", "x": 1}]}, "sections[1].x"),
        ({"sections": [{"id": "9a", "title": "A"}]}, "sections[1].id"),
        ({"sections": [{"id": "a", "title": ""}]}, "sections[1].title"),
        ({"sections": [{"id": "a", "title": "A", "prefill": "x"}]}, "sections[1].prefill"),
    ],
)
def test_template_refusals_name_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidAnswer) as exc:
        parse_template({**OK, **change})
    assert exc.value.field == field


def test_template_file_shapes() -> None:
    with pytest.raises(InvalidAnswer) as exc:
        parse_template([])
    assert exc.value.field == "template"
    with pytest.raises(InvalidAnswer) as exc:
        parse_template_file({"format": "other", "templates": [OK]})
    assert exc.value.field == "format"
    with pytest.raises(InvalidAnswer) as exc:
        parse_template_file({"format": "ketacare-note-templates/1", "templates": []})
    assert exc.value.field == "templates"
    got = parse_template_file({"format": "ketacare-note-templates/1", "templates": [OK]})
    assert [t.key for t in got] == ["k"]


def test_compose_edges() -> None:
    assert scores_text([ScoreLine("MADRS", None, None, date(2026, 1, 2))]) == (
        "MADRS: no total on 2026-01-02"
    )
    text = intake_text(VerdictSummary(date(2026, 1, 2), 1, "incomplete", "not_eligible", None,
                                      0, None, None, None, "complete_assessment"))  # fmt: skip
    assert "TRD: cannot be determined" in text and "Maudsley Staging Method: unknown" in text
    assert "Thase-Rush stage unknown" in text
    doc = document("A", [SectionText("a", "A", " ")], "x@y", datetime(2026, 1, 2, tzinfo=UTC), 4)
    assert "Addendum to note 4" in doc and "(empty)" in doc
