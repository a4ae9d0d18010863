"""Request and response bodies of the REMS API."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from ketacare.features._kit.dates import SaneAwareDateTime, SaneDate

_STRICT = ConfigDict(extra="forbid")


class SettingIn(BaseModel):
    """The clinic's healthcare setting as registered with the SPRAVATO REMS."""

    model_config = _STRICT
    name: str = Field("", max_length=200)
    address: str = Field("", max_length=500)
    setting_type: Literal["outpatient", "inpatient"] = "outpatient"
    certified: bool = False
    certified_on: SaneDate | None = None
    certification_id: str = Field("", max_length=64)
    authorised_representative: str = Field("", max_length=200)
    acquisition_route: Literal["", "pharmacy", "distributor"] = ""
    pulse_oximeter: bool = False


class EnrolmentIn(BaseModel):
    """A Patient Enrollment Form signed by patient and prescriber."""

    model_config = _STRICT
    enrolled_on: SaneDate
    patient_signed: bool
    prescriber_signed: bool
    prescriber_name: str = Field(min_length=1, max_length=200)
    rems_patient_id: str = Field("", max_length=64)
    note: str = Field("", max_length=500)


class WithdrawalIn(BaseModel):
    """Why the enrolment ends."""

    model_config = _STRICT
    note: str = Field(min_length=1, max_length=500)


class AttestationIn(BaseModel):
    """A prescriber on site from ``starts_at`` to ``ends_at`` (at most 24 hours)."""

    model_config = _STRICT
    prescriber_name: str = Field(min_length=1, max_length=200)
    starts_at: SaneAwareDateTime
    ends_at: SaneAwareDateTime


class SubmissionIn(BaseModel):
    """How the PMF was submitted: the portal (with its confirmation number) or fax."""

    model_config = _STRICT
    channel: Literal["portal", "fax"]
    confirmation: str = Field("", max_length=100)
