"""FHIR R4 (4.0.1) mapping of the instrument library: Questionnaire export and import.

Produces and reads plain JSON-ready dicts; it never imports the database or web layers.
"""

from __future__ import annotations

from ketacare.fhir.match import (
    ImportedScore,
    QuestionnaireMatch,
    answers_from_response,
    match_questionnaire,
    score_response,
)
from ketacare.fhir.questionnaire import to_questionnaire

__all__ = [
    "ImportedScore",
    "QuestionnaireMatch",
    "answers_from_response",
    "match_questionnaire",
    "score_response",
    "to_questionnaire",
]
