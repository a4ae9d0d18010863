"""JSON API of REMS operations under /api/v1 (docs/rems.md)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep
from ketacare.features._kit.errors import NotFound
from ketacare.features.auth.deps import ApiActor
from ketacare.features.patients.deps import ApiPatient
from ketacare.features.rems import fax, queries, service, views
from ketacare.features.rems.schemas import (
    AttestationIn,
    EnrolmentIn,
    SettingIn,
    SubmissionIn,
    WithdrawalIn,
)
from ketacare.features.sessions.context import ApiSession

router = APIRouter(prefix="/api/v1", tags=["rems"])


@router.get("/rems/setting")
def read_setting(actor: ApiActor, db: DbDep) -> dict[str, Any] | None:
    """The clinic's healthcare setting as registered with the SPRAVATO REMS (null: none)."""
    assert actor.clinic_id is not None
    return views.setting_dict(queries.setting_of(db, actor.clinic_id))


@router.put("/rems/setting")
def save_setting(body: SettingIn, actor: ApiActor, db: DbDep, now: NowDep) -> dict[str, Any] | None:
    """Register or update the setting's certification, representative, acquisition route and
    pulse oximeter (admins)."""
    views.require(actor, views.ADMIN)
    assert actor.clinic_id is not None
    row = service.save_setting(
        db, actor, actor.clinic_id, service.SettingInput(**body.model_dump()), now
    )
    return views.setting_dict(row)


@router.post("/rems/prescriber-attestations", status_code=201)
def attest(body: AttestationIn, actor: ApiActor, db: DbDep, now: NowDep) -> dict[str, Any]:
    """Attest that a named prescriber is on site for a period (nurse or clinician)."""
    views.require(actor, views.CARE_TEAM)
    assert actor.clinic_id is not None
    row = service.attest_prescriber(
        db, actor, actor.clinic_id, body.prescriber_name, body.starts_at, body.ends_at, now
    )
    return {
        "id": row.id,
        "prescriber_name": row.prescriber_name,
        "starts_at": row.starts_at.isoformat(),
        "ends_at": row.ends_at.isoformat(),
        "attested_by": row.attested_by,
    }


@router.get("/patients/{patient_id}/rems-enrolment")
def read_enrolment(
    patient: ApiPatient, actor: ApiActor, db: DbDep, settings: SettingsDep, now: NowDep
) -> dict[str, Any]:
    """The patient's REMS enrolment records and whether an esketamine session may start now."""
    return views.patient_status(db, actor, patient, settings, now)


@router.post("/patients/{patient_id}/rems-enrolment", status_code=201)
def enrol(
    body: EnrolmentIn,
    patient: ApiPatient,
    actor: ApiActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> dict[str, Any]:
    """Record an enrolment whose form was signed on paper (only with
    ``KETACARE_REMS_ENROLMENT_BY_HAND``; else 422: sign the form on the patient's REMS page)."""
    views.require(actor, views.ENROLERS)
    data = service.EnrolmentInput(**body.model_dump())
    service.enrol_by_hand(db, actor, patient, data, now, settings)
    return views.patient_status(db, actor, patient, settings, now)


@router.post("/patients/{patient_id}/rems-enrolment/withdrawal", status_code=201)
def withdraw(
    body: WithdrawalIn,
    patient: ApiPatient,
    actor: ApiActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> dict[str, Any]:
    """End the enrolment (a new record; the earlier ones are kept)."""
    views.require(actor, views.ENROLERS)
    service.withdraw(db, actor, patient, body.note, now)
    return views.patient_status(db, actor, patient, settings, now)


@router.get("/sessions/{session_id}/pmf.pdf", response_class=Response)
def pmf_pdf(
    s: ApiSession, actor: ApiActor, db: DbDep, settings: SettingsDep, now: NowDep
) -> Response:
    """The session's PMF as PDF, in the form revision of the session date (audited export)."""
    doc = service.read_pmf(db, actor, s, settings, now)
    headers = {
        "Content-Disposition": f'attachment; filename="pmf-session-{s.id}.pdf"',
        "X-PMF-Revision": doc.revision.id,
        "X-Content-SHA256": doc.sha256,
    }
    return Response(doc.pdf, media_type="application/pdf", headers=headers)


@router.post("/sessions/{session_id}/pmf-submission", status_code=201)
def submit(
    body: SubmissionIn,
    s: ApiSession,
    actor: ApiActor,
    db: DbDep,
    settings: SettingsDep,
    now: NowDep,
) -> dict[str, Any]:
    """Record the signed session's PMF as submitted (portal with its confirmation number, or
    fax through the configured adapter); the PDF and its SHA-256 are kept."""
    views.require(actor, views.STAFF)
    sender = fax.configured(settings.rems_fax_dir)
    row = service.submit_pmf(db, actor, s, settings, now, body.channel, body.confirmation, sender)
    return views.submission_dict(row)


@router.get("/sessions/{session_id}/pmf-submission")
def read_submission(s: ApiSession, actor: ApiActor, db: DbDep) -> dict[str, Any]:
    """The session's PMF submission, with whether the stored PDF still matches its SHA-256."""
    row = queries.submission_of(db, s.id)
    if row is None:
        raise NotFound("this session's form is not submitted")
    service.audit_submission_read(db, actor, row, s.patient_id)
    return views.submission_dict(row)


@router.get("/rems/dashboard")
def dashboard(actor: ApiActor, db: DbDep, settings: SettingsDep, now: NowDep) -> dict[str, Any]:
    """PMFs due, overdue (after the deadline day in clinic time) and submitted, per setting."""
    assert actor.clinic_id is not None
    board = service.dashboard(db, actor, actor.clinic_id, settings, now)
    return {
        "setting": board.setting_name,
        "today": board.today.isoformat(),
        "inpatient": board.inpatient,
        "counts": {k: board.count(k) for k in ("overdue", "due", "submitted")},
        "forms": [
            {
                "session_id": r.session_id,
                "patient_id": r.patient_id,
                "patient_name": r.patient_name,
                "treatment_date": r.treatment_date.isoformat(),
                "deadline": r.deadline.isoformat(),
                "status": r.status,
                "session_signed": r.session_signed,
                "confirmation": r.confirmation,
            }
            for r in board.rows
        ],
    }
