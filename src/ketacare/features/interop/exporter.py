"""Read a patient's (or a clinic's) records and map them to FHIR R4 (flush, never commit)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.assessments.models import Assessment, Source
from ketacare.features.consent import fhir as consent_fhir
from ketacare.features.interop.models import Diagnosis, ExternalRef
from ketacare.features.notes import fhir as notes_fhir
from ketacare.features.patients.models import Patient
from ketacare.features.sessions.models import AdverseEvent, ScaleScore, TreatmentSession, VitalSign
from ketacare.fhir import to_questionnaire
from ketacare.fhir.export import (
    AssessmentRecord,
    DiagnosisRecord,
    PatientRecord,
    assessment_resources,
    collection_bundle,
    condition_resource,
    patient_resource,
)
from ketacare.fhir.medication import (
    AdverseEventRecord,
    DoseRecord,
    ScaleRecord,
    VitalRecord,
    adverse_event,
    medication_administration,
    scale_observation,
    vital_observations,
)

IMPORTED_TOTAL = "imported_total"


def patient_record(p: Patient, refs: Iterable[ExternalRef] = ()) -> PatientRecord:
    """The FHIR-facing fields of a patient."""
    return PatientRecord(
        id=p.id,
        given_name=p.given_name,
        family_name=p.family_name,
        birth_date=p.birth_date,
        sex=p.sex.value,
        mrn=p.mrn,
        identifiers=tuple((r.system, r.value) for r in refs),
    )


def is_imported_total(a: Assessment) -> bool:
    """An assessment imported as a total without item answers."""
    return a.source == Source.imported and not a.answers


def assessment_record(a: Assessment) -> AssessmentRecord:
    """The FHIR-facing fields of an assessment."""
    return AssessmentRecord(
        id=a.id,
        patient_id=a.patient_id,
        instrument_id=a.instrument_id,
        instrument_version=a.instrument_version,
        answers=dict(a.answers),
        total=a.total,
        band=a.band,
        completed_at=a.completed_at,
        recorded_at=a.created_at,
        imported_total=is_imported_total(a),
        flags=tuple(a.flags),
    )


def diagnosis_record(d: Diagnosis) -> DiagnosisRecord:
    """The FHIR-facing fields of a diagnosis."""
    return DiagnosisRecord(
        id=d.id,
        patient_id=d.patient_id,
        text=d.text,
        snomed_code=d.snomed_code,
        snomed_display=d.snomed_display,
        icd10_code=d.icd10_code,
        icd10_display=d.icd10_display,
        clinical_status=d.clinical_status,
        onset=d.onset,
        recorded_at=d.created_at,
    )


def dose_record(s: TreatmentSession) -> DoseRecord:
    """The dose of a treatment session."""
    return DoseRecord(
        session_id=s.id,
        patient_id=s.patient_id,
        route=s.route,
        product=s.product,
        given_dose_mg=s.given_dose_mg,
        dose_start=s.dose_start,
        dose_end=s.dose_end,
        lot=s.lot,
    )


def vital_record(v: VitalSign, patient_id: int, dosed: bool) -> VitalRecord:
    """One vital-sign reading; ``dosed``: its session has a dose (an administration)."""
    return VitalRecord(
        id=v.id,
        session_id=v.session_id,
        patient_id=patient_id,
        at=v.at,
        dosed=dosed,
        systolic=v.systolic,
        diastolic=v.diastolic,
        heart_rate=v.heart_rate,
        spo2=v.spo2,
        resp_rate=v.resp_rate,
    )


def scale_record(x: ScaleScore, patient_id: int, dosed: bool) -> ScaleRecord:
    """One CADSS/MOAA-S total (the item answers stay in ketacare)."""
    return ScaleRecord(
        id=x.id,
        session_id=x.session_id,
        patient_id=patient_id,
        instrument_id=x.instrument_id,
        timepoint=x.timepoint,
        at=x.at,
        total=x.total,
        dosed=dosed,
    )


def adverse_event_record(e: AdverseEvent, s: TreatmentSession) -> AdverseEventRecord:
    """One adverse event of session ``s``."""
    return AdverseEventRecord(
        id=e.id,
        session_id=e.session_id,
        patient_id=s.patient_id,
        term=e.term,
        severity=e.severity,
        serious=e.serious,
        onset_at=e.onset_at,
        recorded_at=e.created_at,
        dose_start=s.dose_start,
        other_text=e.other_text,
        outcome=e.outcome,
    )


def patient_refs(db: Session, patient_ids: Sequence[int]) -> dict[int, list[ExternalRef]]:
    """External identifiers of imported patients, by patient id."""
    out: dict[int, list[ExternalRef]] = {}
    if not patient_ids:
        return out
    rows = db.execute(
        select(ExternalRef)
        .where(ExternalRef.resource == "patient", ExternalRef.local_id.in_(patient_ids))
        .order_by(ExternalRef.id)
    ).scalars()
    for r in rows:
        out.setdefault(r.local_id, []).append(r)
    return out


SessionRow = TypeVar("SessionRow", VitalSign, ScaleScore, AdverseEvent)


def _by_session(rows: Iterable[SessionRow]) -> dict[int, list[SessionRow]]:
    out: dict[int, list[SessionRow]] = {}
    for row in rows:
        out.setdefault(row.session_id, []).append(row)
    return out


def session_resources(db: Session, patient_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Per session: the MedicationAdministration, vital-sign Observations, CADSS/MOAA-S
    Observations and AdverseEvents of the patients' sessions."""
    sessions = list(
        db.execute(
            select(TreatmentSession)
            .where(TreatmentSession.patient_id.in_(patient_ids))
            .order_by(TreatmentSession.patient_id, TreatmentSession.id)
        ).scalars()
    )
    ids = [s.id for s in sessions]
    vitals: dict[int, list[VitalSign]] = {}
    scales: dict[int, list[ScaleScore]] = {}
    events: dict[int, list[AdverseEvent]] = {}
    if ids:
        vitals = _by_session(
            db.execute(
                select(VitalSign)
                .where(VitalSign.session_id.in_(ids))
                .order_by(VitalSign.at, VitalSign.id)
            ).scalars()
        )
        scales = _by_session(
            db.execute(
                select(ScaleScore)
                .where(ScaleScore.session_id.in_(ids))
                .order_by(ScaleScore.at, ScaleScore.id)
            ).scalars()
        )
        events = _by_session(
            db.execute(
                select(AdverseEvent)
                .where(AdverseEvent.session_id.in_(ids))
                .order_by(AdverseEvent.onset_at, AdverseEvent.id)
            ).scalars()
        )
    out: list[dict[str, Any]] = []
    for s in sessions:
        admin = medication_administration(dose_record(s))
        dosed = admin is not None
        if admin is not None:
            out.append(admin)
        for v in vitals.get(s.id, []):
            out.extend(vital_observations(vital_record(v, s.patient_id, dosed)))
        out += [
            scale_observation(scale_record(x, s.patient_id, dosed)) for x in scales.get(s.id, [])
        ]
        out += [adverse_event(adverse_event_record(e, s)) for e in events.get(s.id, [])]
    return out


def export_resources(db: Session, patients: Sequence[Patient]) -> list[dict[str, Any]]:
    """Every resource of ``patients``: Patient, Questionnaires used, responses, scores,
    Conditions, then per session the MedicationAdministration, vital signs, CADSS/MOAA-S
    totals and AdverseEvents, in a stable order."""
    ids = [p.id for p in patients]
    refs = patient_refs(db, ids)
    assessments = list(
        db.execute(
            select(Assessment)
            .where(Assessment.patient_id.in_(ids))
            .order_by(Assessment.patient_id, Assessment.completed_at, Assessment.id)
        ).scalars()
    )
    diagnoses = list(
        db.execute(
            select(Diagnosis).where(Diagnosis.patient_id.in_(ids)).order_by(Diagnosis.id)
        ).scalars()
    )
    used = sorted({a.instrument_id for a in assessments if not is_imported_total(a)})
    out: list[dict[str, Any]] = [
        patient_resource(patient_record(p, refs.get(p.id, []))) for p in patients
    ]
    out += [to_questionnaire(iid) for iid in used]
    out += [condition_resource(diagnosis_record(d)) for d in diagnoses]
    for a in assessments:
        out += assessment_resources(assessment_record(a))
    out += session_resources(db, ids)
    out += consent_fhir.resources(db, ids)  # signed consents (features/consent)
    out += notes_fhir.resources(db, ids)  # signed clinical notes (features/notes)
    return out


def export_bundle(
    db: Session,
    clinic_id: int,
    base_url: str,
    patient_id: int | None = None,
    now: datetime | None = None,
) -> tuple[dict[str, Any], list[int]]:
    """A collection Bundle of one patient or the whole clinic; also the patient ids."""
    stmt = select(Patient).where(Patient.clinic_id == clinic_id)
    if patient_id is not None:
        stmt = stmt.where(Patient.id == patient_id)
    patients = list(db.execute(stmt.order_by(Patient.id)).scalars())
    label = f"patient-{patient_id}" if patient_id is not None else f"clinic-{clinic_id}"
    bundle = collection_bundle(
        base_url, export_resources(db, patients), now or utcnow(), f"ketacare-export-{label}"
    )
    return bundle, [p.id for p in patients]
