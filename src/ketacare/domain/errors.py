"""Errors raised by the pure domain core (no HTTP knowledge)."""

from __future__ import annotations


class DomainError(ValueError):
    """Base class for rule violations found by the domain core."""


class InvalidAnswer(DomainError):
    """An answer is missing, of the wrong type or out of range.

    Attributes
    ----------
    field : str
        Dotted path of the offending answer, e.g. ``"phq9.9"`` for PHQ-9 item 9.
    reason : str
        Plain-language reason.
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
