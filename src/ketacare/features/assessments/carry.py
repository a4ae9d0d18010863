"""PHQ-9s taken before treatment join the measurement record (issue 13.11).

A PHQ-9 answered at intake, or on the public self-screen before the person became a patient,
is the patient's first measurement: without it a new patient's report has no baseline. Each
is stored as an assessment dated when it was taken (``Source.intake`` / ``Source.self_screen``),
through :func:`~ketacare.features.assessments.service.store_assessment`, so scoring, alerts and
audit are the same as for any other score. A self-screen is anonymous: it is carried only when
the patient's consent is recorded (``screening.convert``). Both are idempotent: saving the
same intake again, or converting twice, stores nothing new.

Intake dates are calendar days: the assessment is dated at 12:00 UTC of ``assessed_on`` (or
now, if that is later than now), so that the day shown is the day entered in every time zone
within ±11 h [U: a clinic time zone setting would date it at local noon].
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy.orm import Session

from ketacare.features.assessments.models import Assessment, Source
from ketacare.features.assessments.service import store_assessment
from ketacare.features.auth.actor import Actor
from ketacare.features.intake.models import IntakeRecord
from ketacare.features.patients.models import Patient
from ketacare.settings import OutcomeBaseline, Settings


def _phq9(answers: Sequence[object], difficulty: object | None) -> dict[str, int] | None:
    """Item id -> answer, or None unless all nine items are answered."""
    if len(answers) != 9 or any(not isinstance(a, int) for a in answers):
        return None
    out = {str(i): int(a) for i, a in enumerate(answers, start=1)}  # type: ignore[call-overload]
    if isinstance(difficulty, int):
        out["10"] = difficulty
    return out


def _taken_on(day: date, now: datetime) -> datetime:
    return min(datetime.combine(day, time(12, 0), UTC), now)


def carry_intake_phq9(
    db: Session,
    patient: Patient,
    document: Mapping[str, Any],
    assessed_on: date | None,
    recorded_at: datetime,
    actor: Actor,
    baseline_rule: OutcomeBaseline = "before_first_dose",
    *,
    now: datetime,
) -> Assessment | None:
    """Store the intake's PHQ-9 as an assessment dated ``assessed_on`` (None if incomplete).

    The same answers on the same day are stored once, whichever intake version carries them.
    """
    screening = document.get("screening") or {}
    answers = _phq9(screening.get("phq9") or [], screening.get("phq9_difficulty"))
    if answers is None:
        return None
    when = _taken_on(assessed_on, now) if assessed_on else recorded_at
    digest = "".join(str(answers[str(i)]) for i in range(1, 10))
    key = f"intake-phq9:{when.date().isoformat()}:{digest}"
    row, _, _ = store_assessment(
        db, patient, "phq9", answers, Source.intake, actor, when, key, baseline_rule, now=now
    )
    return row


def carry_self_screen(
    db: Session,
    patient: Patient,
    screening_id: str,
    taken_at: datetime,
    phq9: Sequence[object] | None,
    difficulty: int | None,
    gad7: Sequence[object] | None,
    actor: Actor,
    baseline_rule: OutcomeBaseline = "before_first_dose",
) -> list[Assessment]:
    """Store a consented self-screen's PHQ-9 and GAD-7 as assessments dated when taken."""
    stored: list[Assessment] = []
    answers = _phq9(phq9 or [], difficulty)
    if answers is not None:
        row, _, _ = store_assessment(
            db, patient, "phq9", answers, Source.self_screen, actor, taken_at,
            f"screening:{screening_id}:phq9", baseline_rule,
        )  # fmt: skip
        stored.append(row)
    if gad7 and len(gad7) == 7 and all(isinstance(a, int) for a in gad7):
        items = {str(i): a for i, a in enumerate(gad7, start=1)}
        row, _, _ = store_assessment(
            db, patient, "gad7", items, Source.self_screen, actor, taken_at,
            f"screening:{screening_id}:gad7", baseline_rule,
        )  # fmt: skip
        stored.append(row)
    return stored


def intake_saved(
    db: Session,
    actor: Actor,
    settings: Settings,
    patient: Patient,
    record: IntakeRecord,
    now: datetime,
) -> None:
    """After an intake version is saved: carry its PHQ-9 (the intake feature's
    :data:`~ketacare.features.intake.service.SavedHook`).

    The intake feature cannot import this one (assessments import intake), so the app hands
    this function to the intake routes as ``app.state.intake_saved``.
    """
    carry_intake_phq9(
        db, patient, record.document, record.assessed_on, record.created_at, actor,
        settings.outcome_baseline, now=now,
    )  # fmt: skip
