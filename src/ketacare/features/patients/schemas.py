"""Patient API bodies."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field

from ketacare.features.patients.models import AllergySeverity, Sex


class PatientCreate(BaseModel):
    """A new patient."""

    model_config = ConfigDict(extra="forbid")

    given_name: str = Field(min_length=1, max_length=100)
    family_name: str = Field(min_length=1, max_length=100)
    birth_date: date | None = None
    sex: Sex = Sex.unknown
    mrn: str = Field("", max_length=64, description="The clinic's own record number.")
    email: str = Field("", max_length=320)
    phone: str = Field("", max_length=40)
    address_line: str = Field("", max_length=200, description="Street and number.")
    city: str = Field("", max_length=100)
    state: str = Field("", max_length=2, description="Two-letter US state code.")
    postal_code: str = Field("", max_length=10, description="ZIP code: 12345 or 12345-6789.")
    confirm_duplicate: bool = Field(
        False,
        description="Create even though a patient with the same name and birth date exists "
        "(without it such a request is a 409 naming the existing record).",
    )


class PatientOut(BaseModel):
    """A patient as the API returns it."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    mrn: str | None
    given_name: str
    family_name: str
    birth_date: date | None
    sex: Sex
    email: str
    phone: str
    address_line: str
    city: str
    state: str
    postal_code: str
    synthetic: bool


class AddressIn(BaseModel):
    """The patient's postal address (every part optional; an empty part clears it). The
    controlled-substance log prints it beside each administration (21 CFR 1304.22(c))."""

    model_config = ConfigDict(extra="forbid")

    address_line: str = Field("", max_length=200, description="Street and number.")
    city: str = Field("", max_length=100)
    state: str = Field("", max_length=2, description="Two-letter US state code.")
    postal_code: str = Field("", max_length=10, description="ZIP code: 12345 or 12345-6789.")


class AllergyIn(BaseModel):
    """A new allergy."""

    model_config = ConfigDict(extra="forbid")

    substance: str = Field(min_length=1, max_length=120)
    reaction: str = Field("", max_length=200)
    severity: AllergySeverity = AllergySeverity.unknown


class AllergyOut(BaseModel):
    """An allergy on the record."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    substance: str
    reaction: str
    severity: AllergySeverity
    recorded_at: datetime


class MedicationIn(BaseModel):
    """A current medicine."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    dose: str = Field("", max_length=120, description="Dose and frequency, as free text.")
    started_on: date | None = None


class MedicationOut(BaseModel):
    """A current medicine on the record."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    dose: str
    started_on: date | None
    recorded_at: datetime


class PatientDetailOut(PatientOut):
    """One patient with the current allergies and medicines."""

    allergies: list[AllergyOut] = []
    medications: list[MedicationOut] = []
