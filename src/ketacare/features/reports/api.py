"""Clinic outcomes as JSON (staff bearer tokens, clinic-scoped, audited)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from ketacare.features._kit.dates import SaneDate
from ketacare.features._kit.deps import DbDep
from ketacare.features._kit.templating import page_tz
from ketacare.features.auth.deps import ApiActor
from ketacare.features.reports.service import clinic_outcomes_for

router = APIRouter(prefix="/api/v1/analytics", tags=["analytics"])


@router.get("/outcomes")
def outcomes(
    request: Request,
    actor: ApiActor,
    db: DbDep,
    instrument: Annotated[str, Query(min_length=1, max_length=32)] = "phq9",
    start: Annotated[SaneDate | None, Query(alias="from")] = None,
    to: Annotated[SaneDate | None, Query()] = None,
    include_synthetic: bool = False,
) -> dict[str, Any]:
    """The clinic's outcomes (``n_patients``, ``response_rate``, ``response_ci``, ...,
    ``kaplan_meier``, ``definitions``, ``breakdowns``, ``published``) and how many of the
    patients are synthetic. ``from``/``to``: patients whose first session is in the period
    (clinic-local days). Synthetic (generated) patients are left out unless
    ``include_synthetic=true``; ``n_synthetic_excluded`` says how many."""
    result = clinic_outcomes_for(
        db, actor, instrument, start, to,
        include_synthetic=include_synthetic, tz=page_tz(request),
    )  # fmt: skip
    body: dict[str, Any] = (
        {"n_patients": 0} if result.analysis is None else dict(result.analysis.as_dict())
    )
    body["n_synthetic"] = result.cohort.n_synthetic
    body["n_synthetic_excluded"] = result.cohort.n_synthetic_excluded
    body["synthetic_note"] = result.synthetic_note
    return body
