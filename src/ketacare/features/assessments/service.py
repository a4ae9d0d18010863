"""Scoring and storing assessments, and raising their alerts (flush, never commit).

Every write and every read is audited here, with the caller's
:class:`~ketacare.features.auth.actor.Actor` (routes do not audit). Rules come from
:func:`ketacare.domain.mbc.alerts.evaluate_alerts`, against the baseline and previous score of
:mod:`ketacare.features.assessments.baseline`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from sqlalchemy import Row, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.domain.errors import InvalidAnswer
from ketacare.domain.instruments import Instrument, ScoreResult, get_instrument, score
from ketacare.domain.instruments.scoring import missing_items
from ketacare.domain.mbc.alerts import evaluate_alerts
from ketacare.features._kit.errors import BadRequest
from ketacare.features.assessments.baseline import history
from ketacare.features.assessments.models import Alert, AlertAction, Assessment, Source
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import User
from ketacare.features.clinics.service import alert_config
from ketacare.features.instruments.texts import instrument
from ketacare.features.outreach import service as outreach
from ketacare.features.outreach.models import Invitation
from ketacare.features.patients.models import Patient
from ketacare.settings import OutcomeBaseline

MAX_ANSWERS = 64


def parse_form_answers(inst: Instrument, form: Mapping[str, str]) -> dict[str, int | None]:
    """Answers from fields ``item_<id>`` (blank = unanswered); InvalidAnswer names the item."""
    out: dict[str, int | None] = {}
    for item in inst.items:
        raw = form.get(f"item_{item.id}", "").strip()
        if raw == "":
            out[item.id] = None
            continue
        try:
            out[item.id] = int(raw)
        except ValueError:
            raise InvalidAnswer(f"{inst.id}.{item.id}", "must be a whole number") from None
    return out


def missing_errors(inst: Instrument, answers: Mapping[str, int | None]) -> dict[str, str]:
    """Every unanswered required item of a form (item id -> reason), not only the first."""
    return dict.fromkeys(missing_items(inst.id, answers), "is missing")


def score_answers(instrument_id: str, answers: object) -> ScoreResult:
    """Score, turning a domain error into a 422 that names the item."""
    inst = instrument(instrument_id)
    if isinstance(answers, Mapping):
        if len(answers) > MAX_ANSWERS:
            raise BadRequest("too many answers", "answers")
        given = {str(k): v for k, v in answers.items()}
        unknown = sorted(set(given) - set(inst.item_ids))
        if unknown:
            raise BadRequest(f"is not an item of {inst.id}", f"{inst.id}.{unknown[0]}")
        payload: object = {k: v for k, v in given.items() if v is not None}
    else:
        payload = answers
    try:
        return score(inst.id, payload)  # type: ignore[arg-type]
    except InvalidAnswer as exc:
        raise BadRequest(exc.reason, exc.field) from None


def stored_result(row: Assessment) -> ScoreResult:
    """The parts of a stored assessment that the alert rules compare against."""
    return ScoreResult(
        instrument_id=row.instrument_id,
        version=row.instrument_version,
        total=row.total,
        band=row.band,
        band_label=None,
        flags=frozenset(row.flags),
        subscales={},
        interpretation="",
        complete=row.complete,
        answers=(),
        band_set=row.band_set,
    )


#: Longest idempotency key stored as given (the column holds 128 characters).
MAX_PLAIN_KEY = 128


def scoped_key(patient_id: int, key: str) -> str:
    """The stored idempotency key of ``key`` for one patient: ``p<id>:<key>``, or, when that
    is longer than the column, ``p<id>:sha256:<hex of the key>``. Never truncated: two distinct
    keys sharing their first 128 characters must stay two records (issue 15 point 3)."""
    scoped = f"p{patient_id}:{key}"
    if len(scoped) <= MAX_PLAIN_KEY:
        return scoped
    return f"p{patient_id}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def by_idempotency_key(db: Session, key: str) -> Assessment | None:
    """The assessment stored earlier under this (already patient-scoped) key."""
    return db.execute(
        select(Assessment).where(Assessment.idempotency_key == key)
    ).scalar_one_or_none()


def store_assessment(
    db: Session,
    patient: Patient,
    instrument_id: str,
    answers: object,
    source: Source,
    actor: Actor,
    completed_at: datetime | None = None,
    idempotency_key: str | None = None,
    baseline_rule: OutcomeBaseline = "before_first_dose",
    *,
    now: datetime | None = None,
) -> tuple[Assessment, list[Alert], bool]:
    """Score and store one assessment and raise its alerts; return it, them, and created.

    A repeated ``idempotency_key`` returns the assessment stored the first time (created
    False). Imported history raises no alerts. BadRequest names the first bad item; nothing
    is stored then. ``baseline_rule`` is ``KETACARE_OUTCOME_BASELINE`` (the routes pass it).
    ``now`` is the request's clock (``NowDep``); None only for callers without one (imports,
    demo data), which get the current time.
    """
    key = scoped_key(patient.id, idempotency_key) if idempotency_key else None
    if key is not None:
        earlier = by_idempotency_key(db, key)
        if earlier is not None:
            return earlier, [], False
    result = score_answers(instrument_id, answers)
    now = now or utcnow()
    when = completed_at or now
    if when.tzinfo is None:
        raise BadRequest("must include a time zone", "completed_at")
    try:  # stored as UTC: 0001-01-01T00:00+14:00 has no UTC instant
        when.astimezone(UTC)
    except OverflowError:
        raise BadRequest("is outside the dates that can be stored", "completed_at") from None
    if when > now + timedelta(minutes=5):
        raise BadRequest("must not be in the future", "completed_at")
    ids = get_instrument(result.instrument_id).item_ids
    row = Assessment(
        clinic_id=patient.clinic_id,
        patient_id=patient.id,
        instrument_id=result.instrument_id,
        instrument_version=result.version,
        answers=dict(zip(ids, result.answers, strict=True)),
        total=result.total,
        band=result.band,
        band_set=result.band_set,
        flags=sorted(result.flags),
        complete=result.complete,
        completed_at=when,
        source=source,
        entered_by_id=actor.user.id if actor.user else None,
        idempotency_key=key,
    )
    if key is None:
        db.add(row)
        db.flush()
    else:
        try:
            with db.begin_nested():  # a savepoint: a lost race on the key undoes only this
                db.add(row)
                db.flush()
        except IntegrityError:
            earlier = by_idempotency_key(db, key)
            if earlier is None:
                raise
            return earlier, [], False
    record(db, actor, "create", "assessment", row.id, patient.id)
    alerts: list[Alert] = []
    if source != Source.imported:
        past = history(db, patient.id, result.instrument_id, when, baseline_rule)
        raised = evaluate_alerts(
            result,
            stored_result(past.baseline) if past.baseline else None,
            stored_result(past.previous) if past.previous else None,
            config=alert_config(db, patient.clinic_id),
            baseline_note=past.note,
        )
        for found in raised:
            alert = Alert(
                clinic_id=patient.clinic_id,
                patient_id=patient.id,
                assessment_id=row.id,
                rule_id=found.rule_id,
                level=found.level,
                reason=found.reason,
                source=found.source,
                created_at=now,
            )
            db.add(alert)
            alerts.append(alert)
        db.flush()
        for alert in alerts:
            log_action(db, alert, "created", actor.user, "", now)
            record(db, actor, "create", "alert", alert.id, patient.id)
    return row, alerts, True


def log_action(
    db: Session, alert: Alert, action: str, user: User | None, note: str, at: datetime
) -> AlertAction:
    """Append one row to the alert's action log."""
    row = AlertAction(
        alert_id=alert.id,
        clinic_id=alert.clinic_id,
        action=action,
        actor_id=user.id if user else None,
        actor_email=user.email if user else "system",
        note=note,
        at=at,
    )
    db.add(row)
    return row


# Built once: the trajectory chart and the assessments page list a patient's scores on every
# view (the statement's construction cost more than its execution).
_LIST = (
    select(Assessment)
    .where(Assessment.patient_id == bindparam("patient_id"))
    .order_by(Assessment.completed_at, Assessment.id)
    .limit(bindparam("limit"))
)
_LIST_ONE = (
    select(Assessment)
    .where(
        Assessment.patient_id == bindparam("patient_id"),
        Assessment.instrument_id == bindparam("instrument_id"),
    )
    .order_by(Assessment.completed_at, Assessment.id)
    .limit(bindparam("limit"))
)


def list_assessments(
    db: Session, patient_id: int, instrument_id: str | None = None, limit: int = 5000
) -> list[Assessment]:
    """A patient's assessments, oldest first (optionally of one instrument)."""
    if instrument_id:
        params = {"patient_id": patient_id, "instrument_id": instrument_id, "limit": limit}
        return list(db.execute(_LIST_ONE, params).scalars())
    return list(db.execute(_LIST, {"patient_id": patient_id, "limit": limit}).scalars())


# The trajectory chart's columns only: no entities (no JSON answers decoded, no identity map).
_TOTALS = (
    select(
        Assessment.instrument_id,
        Assessment.completed_at,
        Assessment.total,
        Assessment.band,
        Assessment.band_set,
    )
    .where(Assessment.patient_id == bindparam("patient_id"))
    .order_by(Assessment.completed_at, Assessment.id)
    .limit(bindparam("limit"))
)


def patient_totals(
    db: Session, actor: Actor, patient_id: int, view: str = "", limit: int = 5000
) -> list[Row[str, datetime, int | None, str | None, str | None]]:
    """As :func:`patient_assessments` (the same rows, oldest first, audited as a list), only
    the columns a chart draws: instrument, completed at, total, band and band set."""
    rows = list(db.execute(_TOTALS, {"patient_id": patient_id, "limit": limit}))
    record(db, actor, "list", "assessment", view, patient_id)
    return rows


def patient_assessments(
    db: Session, actor: Actor, patient_id: int, instrument_id: str | None = None, view: str = ""
) -> list[Assessment]:
    """A patient's assessments, oldest first, audited as a list (``view`` names the page)."""
    rows = list_assessments(db, patient_id, instrument_id)
    record(db, actor, "list", "assessment", view, patient_id)
    return rows


def answer_link(
    db: Session,
    actor: Actor,
    inv: Invitation,
    instrument_id: str,
    answers: object,
    idempotency_key: str | None,
    now: datetime,
    baseline_rule: OutcomeBaseline = "before_first_dose",
) -> Assessment:
    """Claim a one-time link (``outreach.service.LinkGone`` if used meanwhile) and store its
    answers as the patient's."""
    outreach.claim(db, inv, now)
    patient = db.get(Patient, inv.patient_id)
    assert patient is not None
    row, _, _ = store_assessment(
        db, patient, instrument_id, answers, Source.link, actor, now, idempotency_key,
        baseline_rule, now=now,
    )  # fmt: skip
    inv.assessment_id = row.id
    db.flush()
    return row
