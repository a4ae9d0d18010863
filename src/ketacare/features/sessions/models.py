"""Treatment sessions as charted: dose, pre-dose checklist, vitals, scales, adverse events,
discharge, signing, amendments (kept as versions), REMS form and clinician notifications."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Enum, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ketacare.db.base import Base, UTCDateTime, user_fk, utcnow
from ketacare.features.patients.models import Patient


class SessionStatus(enum.StrEnum):
    """open -> discharged -> signed (read-only; corrections are amendments)."""

    open = "open"
    discharged = "discharged"
    signed = "signed"


class TreatmentSession(Base):
    """One charted session, linked to a planned session of the patient's treatment plan."""

    __tablename__ = "treatment_session"
    __table_args__ = (
        Index("ix_treatment_session_patient", "patient_id", "created_at"),
        Index("ix_treatment_session_clinic_status", "clinic_id", "status"),
        # One charted session per planned session (issue 15.4); rows charted twice before
        # migration 0008 are kept and marked ``legacy_duplicate``.
        Index(
            "uq_treatment_session_planned",
            "planned_session_id",
            unique=True,
            postgresql_where=text("legacy_duplicate = false"),
            sqlite_where=text("legacy_duplicate = 0"),
        ),
        # One open session per patient unless a clinician recorded why (issue 13.2).
        Index(
            "uq_treatment_session_one_open",
            "patient_id",
            unique=True,
            postgresql_where=text("status = 'open' AND concurrent_reason = ''"),
            sqlite_where=text("status = 'open' AND concurrent_reason = ''"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="RESTRICT"))
    #: Read only, and loaded only where a query asks for it (``queries.get_session``): it keeps
    #: the patient in the unit of work for the session state (``state.build``).
    patient: Mapped[Patient] = relationship(lazy="raise", viewonly=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("treatment_plan.id", ondelete="RESTRICT"))
    planned_session_id: Mapped[int] = mapped_column(
        ForeignKey("planned_session.id", ondelete="RESTRICT")
    )
    route: Mapped[str] = mapped_column(String(16))
    product: Mapped[str] = mapped_column(String(100), default="")
    lot: Mapped[str] = mapped_column(String(64), default="")
    planned_dose_mg: Mapped[float | None] = mapped_column(default=None)
    given_dose_mg: Mapped[float | None] = mapped_column(default=None)
    devices: Mapped[int | None] = mapped_column(default=None)
    dose_start: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    last_device_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    dose_end: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    checklist: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    checklist_complete: Mapped[bool] = mapped_column(default=False)
    bp_decision: Mapped[str] = mapped_column(String(16), default="")
    bp_decision_reason: Mapped[str] = mapped_column(Text, default="")
    bp_decision_by_id: Mapped[int | None] = user_fk()
    bp_decision_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    clinician_approved_by_id: Mapped[int | None] = user_fk()
    clinician_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    discharged_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    discharged_by_id: Mapped[int | None] = user_fk()
    status: Mapped[SessionStatus] = mapped_column(
        Enum(SessionStatus, native_enum=False, length=16), default=SessionStatus.open
    )
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    signed_by_id: Mapped[int | None] = user_fk()
    signed_by_email: Mapped[str] = mapped_column(String(320), default="")
    version: Mapped[int] = mapped_column(default=1)
    notes: Mapped[str] = mapped_column(Text, default="")
    nurse_id: Mapped[int | None] = user_fk()
    nurse_email: Mapped[str] = mapped_column(String(320), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A clinician's reason for opening this session while another one of the patient is open.
    concurrent_reason: Mapped[str] = mapped_column(Text, default="")
    # How the planned session was chosen: "date" (its day matched) or "chosen" (by the user).
    planned_link: Mapped[str] = mapped_column(String(16), default="")
    legacy_duplicate: Mapped[bool] = mapped_column(default=False)


class VitalSign(Base):
    """One reading (any value may be missing); ``pre_dose`` marks the checklist reading."""

    __tablename__ = "vital_sign"
    __table_args__ = (Index("ix_vital_sign_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_session.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    pre_dose: Mapped[bool] = mapped_column(default=False)
    systolic: Mapped[int | None] = mapped_column(default=None)
    diastolic: Mapped[int | None] = mapped_column(default=None)
    heart_rate: Mapped[int | None] = mapped_column(default=None)
    spo2: Mapped[int | None] = mapped_column(default=None)
    resp_rate: Mapped[int | None] = mapped_column(default=None)
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    entered_by_id: Mapped[int | None] = user_fk()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ScaleScore(Base):
    """A CADSS (6 or 23 items) or MOAA/S rating at a timepoint."""

    __tablename__ = "scale_score"
    __table_args__ = (Index("ix_scale_score_session_at", "session_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_session.id", ondelete="CASCADE"))
    instrument_id: Mapped[str] = mapped_column(String(16))
    instrument_version: Mapped[str] = mapped_column(String(16))
    timepoint: Mapped[str] = mapped_column(String(16))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column()
    flags: Mapped[list[str]] = mapped_column(JSON, default=list)
    entered_by_id: Mapped[int | None] = user_fk()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AdverseEvent(Base):
    """A coded adverse event; serious ones notify the clinic's clinicians."""

    __tablename__ = "adverse_event"
    __table_args__ = (Index("ix_adverse_event_session", "session_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_session.id", ondelete="CASCADE"))
    term: Mapped[str] = mapped_column(String(32))
    other_text: Mapped[str] = mapped_column(String(200), default="")
    severity: Mapped[str] = mapped_column(String(16))
    serious: Mapped[bool] = mapped_column(default=False)
    action: Mapped[str] = mapped_column(Text, default="")
    outcome: Mapped[str] = mapped_column(String(32), default="")
    onset_at: Mapped[datetime] = mapped_column(UTCDateTime())
    origin: Mapped[str] = mapped_column(String(32), default="entered")
    entered_by_id: Mapped[int | None] = user_fk()
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SessionNotification(Base):
    """A message to one clinician (e.g. a serious adverse event), shown on the Today page."""

    __tablename__ = "session_notification"
    __table_args__ = (Index("ix_session_notification_user", "user_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"))
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_session.id", ondelete="CASCADE"))
    patient_id: Mapped[int] = mapped_column(ForeignKey("patient.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class SessionAmendment(Base):
    """A correction after signing: the reason, the changes, and the record before and after."""

    __tablename__ = "session_amendment"
    __table_args__ = (
        UniqueConstraint("session_id", "version", name="uq_session_amendment_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_session.id", ondelete="CASCADE"))
    version: Mapped[int]
    reason: Mapped[str] = mapped_column(Text)
    changes: Mapped[dict[str, Any]] = mapped_column(JSON)
    before: Mapped[dict[str, Any]] = mapped_column(JSON)
    after: Mapped[dict[str, Any]] = mapped_column(JSON)
    by_id: Mapped[int | None] = user_fk()
    by_email: Mapped[str] = mapped_column(String(320), default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class RemsForm(Base):
    """The REMS Patient Monitoring Form of an esketamine session (typed fields as JSON)."""

    __tablename__ = "rems_form"

    id: Mapped[int] = mapped_column(primary_key=True)
    clinic_id: Mapped[int] = mapped_column(ForeignKey("clinic.id", ondelete="RESTRICT"))
    session_id: Mapped[int] = mapped_column(
        ForeignKey("treatment_session.id", ondelete="CASCADE"), unique=True
    )
    form_version: Mapped[str] = mapped_column(String(32))
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    deadline: Mapped[date | None] = mapped_column(Date, default=None)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    submitted_by_id: Mapped[int | None] = user_fk()
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class SessionRequestKey(Base):
    """An ``Idempotency-Key`` of a charting step: a retried request stores nothing twice."""

    __tablename__ = "session_request_key"
    __table_args__ = (UniqueConstraint("session_id", "key", name="uq_session_request_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("treatment_session.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200))
    step: Mapped[str] = mapped_column(String(32))
    fingerprint: Mapped[str] = mapped_column(String(64))
    record_id: Mapped[int | None] = mapped_column(default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
