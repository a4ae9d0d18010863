"""Request and response bodies of the screening API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

Answer = Annotated[StrictInt, Field(ge=0, le=3)]
BandName = Literal["none", "mild", "moderate", "moderately_severe", "severe"]


class ScreeningCreate(BaseModel):
    """PHQ-9 and/or GAD-7 answers, each item 0 (not at all) to 3 (nearly every day)."""

    model_config = ConfigDict(extra="forbid")

    phq9: list[Answer] | None = Field(
        None, min_length=9, max_length=9, description="PHQ-9 items 1-9, in order."
    )
    phq9_difficulty: Answer | None = Field(None, description="PHQ-9 item 10 (not scored).")
    gad7: list[Answer] | None = Field(
        None, min_length=7, max_length=7, description="GAD-7 items 1-7, in order."
    )

    @model_validator(mode="after")
    def _one_instrument(self) -> ScreeningCreate:
        if self.phq9 is None and self.gad7 is None:
            raise ValueError("give phq9, gad7 or both")
        return self


class Phq9Out(BaseModel):
    """PHQ-9 result."""

    total: int = Field(description="Sum of items 1-9 (0-27).")
    band: BandName
    item9_positive: bool = Field(description="Item 9 (thoughts of death or self-harm) >= 1.")
    major_depressive_syndrome: bool = Field(description="PHQ-9 diagnostic algorithm met.")


class Gad7Out(BaseModel):
    """GAD-7 result."""

    total: int = Field(description="Sum of items 1-7 (0-21).")
    band: Literal["none", "mild", "moderate", "severe"]


class ScreeningOut(BaseModel):
    """A stored screening and its scores."""

    id: str
    phq9: Phq9Out | None
    gad7: Gad7Out | None


class LeadCreate(BaseModel):
    """A request for the clinic to get in touch."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    phone: str = Field("", max_length=40)
    email: str = Field("", max_length=320)
    preferred_time: str = Field("", max_length=200)
    consent: bool
    screening_id: str | None = Field(None, max_length=32)


class LeadOut(BaseModel):
    """A consultation request as staff see it."""

    id: int
    name: str
    phone: str
    email: str
    preferred_time: str
    status: str
    created_at: str
    screening: ScreeningOut | None
