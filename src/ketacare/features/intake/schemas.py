"""Intake, plan and PK API bodies. The intake document itself is the JSON of docs/intake.md §5."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ketacare.features._kit.dates import SaneDate
from ketacare.features.intake.models import IntakeRecord, PlannedSession, TreatmentPlan


class IntakeVersionOut(BaseModel):
    """Who saved which version, when."""

    version: int
    assessed_on: date | None
    comment: str
    created_by: str = Field(description="Email of the user who saved this version.")
    created_at: datetime

    @classmethod
    def of(cls, r: IntakeRecord) -> IntakeVersionOut:
        """From a stored version."""
        return cls(
            version=r.version,
            assessed_on=r.assessed_on,
            comment=r.comment,
            created_by=r.created_by_email,
            created_at=r.created_at,
        )


class IntakeOut(IntakeVersionOut):
    """One intake version with its document."""

    patient_id: int
    intake: dict[str, Any] = Field(description="The intake document (docs/intake.md §5).")

    @classmethod
    def of(cls, r: IntakeRecord) -> IntakeOut:
        """From a stored version."""
        meta = IntakeVersionOut.of(r).model_dump()
        return cls(**meta, patient_id=r.patient_id, intake=r.document)


class PlanCreate(BaseModel):
    """A course to plan from the patient's current intake."""

    model_config = ConfigDict(extra="forbid")

    protocol_id: str = Field(description="e.g. iv-ketamine-induction, esketamine-trd.")
    start_date: SaneDate = Field(description="First possible session day.")
    weekdays: list[str] = Field(
        default=["mon", "wed", "fri"], description="Allowed weekdays: mon, tue, ..., sun."
    )
    variant: str | None = Field(None, description="Protocol variant, e.g. age-65-plus.")
    esketamine_dose_mg: int | None = Field(
        None, description="Esketamine dose after the first session (a protocol step)."
    )


class SessionOut(BaseModel):
    """A planned session; ``id`` is stable."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    number: int
    day: date
    phase: str
    planned_dose_mg: float | None
    dose_mg_per_kg: float | None
    dose_label: str
    route: str
    infusion_min: float | None


class PlanOut(BaseModel):
    """A treatment plan and its sessions."""

    id: int
    patient_id: int
    intake_version: int = Field(description="Intake version the plan was made from.")
    protocol_id: str
    protocol_version: str
    protocol_title: str
    drug: str
    route: str
    variant: str | None
    start_date: date
    weekdays: list[str]
    weight_kg: float | None
    age_years: int | None
    status: str
    created_by: str
    created_at: datetime
    sessions: list[SessionOut]

    @classmethod
    def of(cls, p: TreatmentPlan, sessions: list[PlannedSession], intake_version: int) -> PlanOut:
        """From a stored plan."""
        return cls(
            id=p.id,
            patient_id=p.patient_id,
            intake_version=intake_version,
            protocol_id=p.protocol_id,
            protocol_version=p.protocol_version,
            protocol_title=p.protocol_title,
            drug=p.drug,
            route=p.route,
            variant=p.variant,
            start_date=p.start_date,
            weekdays=p.weekdays.split(","),
            weight_kg=p.weight_kg,
            age_years=p.age_years,
            status=p.status.value,
            created_by=p.created_by_email,
            created_at=p.created_at,
            sessions=[SessionOut.model_validate(s) for s in sessions],
        )


class PkCovariates(BaseModel):
    """Covariates used for the prediction."""

    weight_kg: float
    age_years: float
    notes: list[str]


class PkOut(BaseModel):
    """Predicted plasma concentration over the planned course (decision support only)."""

    disclaimer: str
    plan_id: int
    model: str
    model_title: str
    citation: str
    units: dict[str, str]
    covariates: PkCovariates
    band: str
    n_simulated: int
    iiv_source: str
    times_min: list[float]
    typical: list[float]
    p5: list[float]
    p50: list[float]
    p95: list[float]
