"""Database mode of the analytics, and the data behind the reports (read only).

:func:`load_cohort` reads one clinic into the columnar tables of
:mod:`ketacare.domain.analytics`, exactly as the exported files would hold it:

* assessments: scored administrations (``total`` not null) of the instrument, timed at
  ``completed_at`` (UTC);
* sessions: charted sessions **with a recorded dose** (``dose_start``), timed at the dose
  start, with the protocol of their treatment plan; a session deferred before dosing is not
  a treatment;
* patients: recorded sex (``unknown`` -> blank) and age in whole years at the first session
  (blank without a birth date).

A period (``start``/``end``) selects an inception cohort: the patients whose **first** dosed
session falls in it, with all their data.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any

import numpy as np
from sqlalchemy import BigInteger, String, cast, func, literal_column, select
from sqlalchemy.orm import Session

from ketacare.db.base import epoch_seconds
from ketacare.domain.analytics import (
    AnalyticsConfig,
    AssessmentTable,
    BreakdownKey,
    OutcomeAnalysis,
    PatientTable,
    SessionTable,
    analyse_outcomes,
)
from ketacare.domain.errors import DomainError
from ketacare.domain.instruments import get_instrument
from ketacare.features._kit import clock
from ketacare.features._kit.errors import BadRequest
from ketacare.features._kit.memo import ContentCache, digest
from ketacare.features.assessments.models import Assessment
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.intake.models import TreatmentPlan
from ketacare.features.patients.models import Patient, Sex
from ketacare.features.reports.published import published_rates
from ketacare.features.sessions.models import TreatmentSession

__all__ = [
    "BREAKDOWNS",
    "ClinicOutcomes",
    "Cohort",
    "check_instrument",
    "clinic_outcomes",
    "load_cohort",
    "naive_utc",
]

BREAKDOWNS: tuple[BreakdownKey, ...] = ("protocol", "sex", "age-band")
#: Analyses by the digest of their input: a view of unchanged data is not recomputed.
_ANALYSES: ContentCache[OutcomeAnalysis] = ContentCache(16)
#: Whole results by the clinic's data version and the arguments (PostgreSQL).
_OUTCOMES: ContentCache[ClinicOutcomes] = ContentCache(32)


def naive_utc(value: datetime) -> datetime:
    """A stored time as naive UTC (the analytics compare ``datetime64`` seconds)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value.replace(microsecond=0)


def check_instrument(instrument: str) -> str:
    """The instrument id, or BadRequest naming ``instrument``."""
    inst = instrument.strip().lower()
    try:
        get_instrument(inst)
    except DomainError as exc:
        raise BadRequest(str(exc), "instrument") from None
    return inst


@dataclass(frozen=True, slots=True)
class Cohort:
    """One clinic's data in analytics form, with how many treated patients are synthetic."""

    assessments: AssessmentTable
    sessions: SessionTable
    patients: PatientTable
    n_synthetic: int
    start: date | None = None
    end: date | None = None
    #: Synthetic (generated) treated patients left out because the caller excluded them.
    n_synthetic_excluded: int = 0

    @property
    def n_treated(self) -> int:
        """Patients with at least one dosed session."""
        return int(np.unique(self.sessions.patient_id).size)


def _seconds(values: Sequence[int | None]) -> Any:
    """Epoch seconds as ``datetime64[s]`` (non-null by the queries: ``dose_start``
    filtered, ``completed_at`` NOT NULL)."""
    return np.array([v for v in values if v is not None], dtype=np.int64).astype("datetime64[s]")


def load_cohort(
    db: Session,
    clinic_id: int,
    instrument: str,
    start: date | None = None,
    end: date | None = None,
    patient_id: int | None = None,
    *,
    include_synthetic: bool = True,
    tz: str = "UTC",
) -> Cohort:
    """Read the clinic (or one of its patients) into the analytics tables.

    ``start``/``end`` are local calendar days in the zone ``tz`` (the clinic's); without
    ``include_synthetic`` the generated (synthetic) patients are left out and counted in
    ``n_synthetic_excluded``.

    Raises
    ------
    BadRequest
        ``instrument`` unknown, or ``end`` before ``start`` (naming ``to``).
    """
    inst = check_instrument(instrument)
    if start is not None and end is not None and end < start:
        raise BadRequest("must not be before the start of the period", "to")
    # Times are read as whole epoch seconds computed by the database (no Python datetime
    # per row), and synthetic patients, when left out, are left out by the query: a clinic's
    # every dose and score used to be read and converted, then mostly thrown away.
    dose_at, done_at = (
        epoch_seconds(TreatmentSession.dose_start),
        epoch_seconds(Assessment.completed_at),
    )
    s_stmt = (
        select(TreatmentSession.patient_id, dose_at, TreatmentPlan.protocol_id)
        .join(TreatmentPlan, TreatmentPlan.id == TreatmentSession.plan_id)
        .where(TreatmentSession.clinic_id == clinic_id, TreatmentSession.dose_start.is_not(None))
        .order_by(TreatmentSession.patient_id, TreatmentSession.dose_start, TreatmentSession.id)
    )
    a_stmt = (
        select(Assessment.patient_id, done_at, Assessment.total)
        .where(
            Assessment.clinic_id == clinic_id,
            Assessment.instrument_id == inst,
            Assessment.total.is_not(None),
        )
        .order_by(Assessment.patient_id, Assessment.completed_at, Assessment.id)
    )
    p_stmt = select(Patient.id, Patient.sex, Patient.birth_date, Patient.synthetic).where(
        Patient.clinic_id == clinic_id
    )
    # The first dose of each synthetic patient (to count those left out).
    g_stmt = (
        select(TreatmentSession.patient_id, func.min(dose_at))
        .join(Patient, Patient.id == TreatmentSession.patient_id)
        .where(
            TreatmentSession.clinic_id == clinic_id,
            TreatmentSession.dose_start.is_not(None),
            Patient.synthetic.is_(True),
        )
        .group_by(TreatmentSession.patient_id)
    )
    if not include_synthetic:
        real = Patient.synthetic.is_(False)
        s_stmt = s_stmt.join(Patient, Patient.id == TreatmentSession.patient_id).where(real)
        a_stmt = a_stmt.join(Patient, Patient.id == Assessment.patient_id).where(real)
        p_stmt = p_stmt.where(real)
    if patient_id is not None:
        s_stmt = s_stmt.where(TreatmentSession.patient_id == patient_id)
        a_stmt = a_stmt.where(Assessment.patient_id == patient_id)
        p_stmt = p_stmt.where(Patient.id == patient_id)
        g_stmt = g_stmt.where(TreatmentSession.patient_id == patient_id)
    # Plain rows through the connection (no ORM row processing: tens of thousands of rows).
    db.flush()
    conn = db.connection()
    sessions = conn.execute(s_stmt).all()
    first: dict[int, int] = {}
    for pid, when, _ in sessions:
        if when is not None:
            first.setdefault(int(pid), int(when))
    lo, hi = -(2**62), 2**62
    if start is not None:
        lo = int(clock.local_day_bounds(start, tz)[0].timestamp())
    if end is not None:
        hi = int(clock.local_day_bounds(end, tz)[1].timestamp())
    if start is not None or end is not None:
        first = {pid: t for pid, t in first.items() if lo <= t < hi}
    people = conn.execute(p_stmt).all()
    excluded = 0
    if not include_synthetic:
        firsts: list[int | None] = [row[1] for row in conn.execute(g_stmt).all()]
        excluded = len([t for t in firsts if t is not None and lo <= t < hi])
    filtered = start is not None or end is not None or not include_synthetic
    if filtered:
        sessions = [r for r in sessions if int(r[0]) in first]
    assessments = [r for r in conn.execute(a_stmt).all() if not filtered or int(r[0]) in first]
    ids, sexes, ages, n_synthetic = [], [], [], 0
    for pid, sex, birth, synthetic in people:
        if int(pid) not in first:
            continue
        ids.append(int(pid))
        sexes.append("" if sex in (None, Sex.unknown) else str(Sex(sex).value))
        day0 = datetime.fromtimestamp(first[int(pid)], UTC).date()
        if birth is None:
            ages.append(np.nan)
        else:
            ages.append(
                float(day0.year - birth.year - ((day0.month, day0.day) < (birth.month, birth.day)))
            )
        n_synthetic += bool(synthetic)
    return Cohort(
        AssessmentTable.from_arrays(
            inst,
            np.array([int(r[0]) for r in assessments], dtype=np.int64),
            _seconds([r[1] for r in assessments]),
            [float(r[2] or 0) for r in assessments],  # total IS NOT NULL,
        ),
        SessionTable.from_arrays(
            np.array([int(r[0]) for r in sessions], dtype=np.int64),
            _seconds([r[1] for r in sessions]),
            np.array([str(r[2]) for r in sessions], dtype=str),
        ),
        PatientTable.from_arrays(np.array(ids, dtype=np.int64), np.array(sexes, dtype=str), ages),
        n_synthetic,
        start,
        end,
        excluded,
    )


@dataclass(frozen=True, slots=True)
class ClinicOutcomes:
    """A clinic's analysis (``None`` when no patient has a dosed session yet)."""

    cohort: Cohort
    analysis: OutcomeAnalysis | None
    #: A digest of everything the analysis was computed from ("" when not analysed): the
    #: same data gives the same digest, so pages may keep what they draw from it.
    digest: str = ""

    @property
    def synthetic_note(self) -> str:
        """How much of the cohort is synthetic ("" when none)."""
        n, total = self.cohort.n_synthetic, self.cohort.n_treated
        if not n:
            return ""
        if n == total:
            return f"Synthetic data: all {n} patients are synthetic (generated), not real."
        return f"Includes synthetic data: {n} of {total} patients are synthetic (generated)."


@lru_cache(maxsize=1)
def _published_digest() -> str:
    """The built-in published rates do not change while the process runs."""
    return digest(published_rates())


def clinic_outcomes(
    db: Session,
    clinic_id: int,
    instrument: str = "phq9",
    start: date | None = None,
    end: date | None = None,
    by: Sequence[BreakdownKey] = BREAKDOWNS,
    config: AnalyticsConfig | None = None,
    *,
    include_synthetic: bool = True,
    tz: str = "UTC",
) -> ClinicOutcomes:
    """The clinic's outcome analysis beside the built-in published rates (``start``/``end``
    local days in ``tz``; synthetic patients left out unless ``include_synthetic``).

    On PostgreSQL the result is kept per process under the clinic's :func:`data_version`
    and the arguments: a view of unchanged data reads no rows and computes nothing."""
    version = data_version(db, clinic_id, check_instrument(instrument))
    if version is None:
        return _outcomes(db, clinic_id, instrument, start, end, by, config, include_synthetic, tz)
    if start is not None and end is not None and end < start:
        raise BadRequest("must not be before the start of the period", "to")
    key = digest("outcomes", clinic_id, check_instrument(instrument), start, end, tuple(by),
                 config, include_synthetic, tz, version)  # fmt: skip
    return _OUTCOMES.get(
        key,
        lambda: _outcomes(db, clinic_id, instrument, start, end, by, config, include_synthetic, tz),
    )


def _outcomes(
    db: Session,
    clinic_id: int,
    instrument: str,
    start: date | None,
    end: date | None,
    by: Sequence[BreakdownKey],
    config: AnalyticsConfig | None,
    include_synthetic: bool,
    tz: str,
) -> ClinicOutcomes:
    cohort = load_cohort(
        db, clinic_id, instrument, start, end, include_synthetic=include_synthetic, tz=tz
    )
    if cohort.n_treated == 0:
        return ClinicOutcomes(cohort, None)
    published = published_rates()
    key = digest(cohort, tuple(by), config, _published_digest())

    def analyse() -> OutcomeAnalysis:
        return analyse_outcomes(
            cohort.assessments,
            cohort.sessions,
            cohort.patients,
            config=config,
            by=by,
            published=published,
        )

    return ClinicOutcomes(cohort, _ANALYSES.get(key, analyse), key)


def _versions(table: str) -> tuple[Any, Any]:
    """The count of rows and the sum of their ``xmin`` (the transaction that wrote each row
    version): an insert or a delete changes the count, an update gives the row a new, later
    ``xmin``. Cheap: no row is formatted or sent."""
    xmin = cast(cast(literal_column(f"{table}.xmin"), String), BigInteger)
    return (func.count(), func.coalesce(func.sum(xmin), 0))


def data_version(db: Session, clinic_id: int, instrument: str) -> str | None:
    """A version of every row :func:`load_cohort` reads for the clinic and instrument (dosed
    sessions, the clinic's plans (their protocols), scored assessments, patients), computed
    by PostgreSQL in four aggregate statements without sending the rows; None on other
    databases (SQLite, the demo's, reads the rows)."""
    if db.get_bind().dialect.name != "postgresql":
        return None
    s, a, p = TreatmentSession, Assessment, Patient
    stmts = (
        select(*_versions("treatment_session"))
        .select_from(s)
        .where(s.clinic_id == clinic_id, s.dose_start.is_not(None)),
        select(*_versions("treatment_plan"))
        .select_from(TreatmentPlan)
        .where(TreatmentPlan.clinic_id == clinic_id),
        select(*_versions("assessment"))
        .select_from(a)
        .where(a.clinic_id == clinic_id, a.instrument_id == instrument, a.total.is_not(None)),
        select(*_versions("patient")).select_from(p).where(p.clinic_id == clinic_id),
    )
    where = db.get_bind().engine.url.render_as_string(hide_password=True)  # one process, many DBs
    return repr([where, *(tuple(db.execute(stmt).one()) for stmt in stmts)])


def clinic_outcomes_for(
    db: Session,
    actor: Actor,
    instrument: str = "phq9",
    start: date | None = None,
    end: date | None = None,
    *,
    include_synthetic: bool = True,
    tz: str = "UTC",
    action: str = "read",
) -> ClinicOutcomes:
    """:func:`clinic_outcomes` of the actor's clinic, audited (``action``: ``read`` for a
    page or the API, ``export`` for a PDF) under the instrument analysed."""
    if actor.clinic_id is None:
        raise ValueError("the actor acts for no clinic")
    result = clinic_outcomes(
        db, actor.clinic_id, instrument, start, end, include_synthetic=include_synthetic, tz=tz
    )
    record(db, actor, action, "clinic_outcomes", result.cohort.assessments.instrument)
    return result
