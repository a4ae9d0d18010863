"""JSON views of a session state (API responses and the page's data)."""

from __future__ import annotations

from typing import Any

from ketacare.domain.sessions.safety import flag_guidance
from ketacare.features.sessions.models import AdverseEvent, ScaleScore, TreatmentSession, VitalSign
from ketacare.features.sessions.state import SessionState, reason_dicts


def _t(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def session_dict(s: TreatmentSession) -> dict[str, Any]:
    """The session row."""
    return {
        "id": s.id,
        "patient_id": s.patient_id,
        "plan_id": s.plan_id,
        "planned_session_id": s.planned_session_id,
        "route": s.route,
        "product": s.product,
        "lot": s.lot,
        "planned_dose_mg": s.planned_dose_mg,
        "given_dose_mg": s.given_dose_mg,
        "devices": s.devices,
        "dose_start": _t(s.dose_start),
        "last_device_at": _t(s.last_device_at),
        "dose_end": _t(s.dose_end),
        "status": s.status.value,
        "version": s.version,
        "nurse_email": s.nurse_email,
        "bp_decision": s.bp_decision,
        "bp_decision_reason": s.bp_decision_reason,
        "clinician_approved_at": _t(s.clinician_approved_at),
        "discharged_at": _t(s.discharged_at),
        "signed_at": _t(s.signed_at),
        "signed_by_email": s.signed_by_email,
        "notes": s.notes,
        "created_at": _t(s.created_at),
    }


def vitals_dict(v: VitalSign, flags: list[Any]) -> dict[str, Any]:
    """One reading with its flags."""
    return {
        "id": v.id,
        "at": _t(v.at),
        "pre_dose": v.pre_dose,
        "systolic": v.systolic,
        "diastolic": v.diastolic,
        "heart_rate": v.heart_rate,
        "spo2": v.spo2,
        "resp_rate": v.resp_rate,
        "flags": reason_dicts(flags),
        "guidance": flag_guidance(flags),
    }


def scale_dict(x: ScaleScore) -> dict[str, Any]:
    """One rating."""
    return {
        "id": x.id,
        "instrument": x.instrument_id,
        "version": x.instrument_version,
        "timepoint": x.timepoint,
        "at": _t(x.at),
        "total": x.total,
        "flags": list(x.flags),
        "answers": dict(x.answers),
    }


def event_dict(e: AdverseEvent) -> dict[str, Any]:
    """One adverse event."""
    return {
        "id": e.id,
        "term": e.term,
        "other_text": e.other_text,
        "severity": e.severity,
        "serious": e.serious,
        "action": e.action,
        "outcome": e.outcome,
        "onset_at": _t(e.onset_at),
        "origin": e.origin,
    }


def state_dict(st: SessionState) -> dict[str, Any]:
    """Everything about the session at ``st.now``."""
    return {
        "session": session_dict(st.session),
        "checked_at": st.now.isoformat(),
        "predose": {
            "complete": st.predose.complete,
            "unmet": reason_dicts(st.predose.unmet),
            "warnings": reason_dicts(st.predose.warnings),
            "bp_decision_needed": st.predose.bp_decision_needed is not None,
            "todays_assessments": st.assessments,
            "open_alerts": st.alerts,
        },
        "vitals": [vitals_dict(v, f) for v, f in st.vitals],
        "vitals_due": [
            {"at": d.at.isoformat(), "label": d.label, "status": d.status, "source": d.source}
            for d in st.due
        ],
        "scales": [scale_dict(x) for x in st.scales],
        "adverse_events": [event_dict(e) for e in st.events],
        "discharge": {
            "allowed": st.discharge.allowed,
            "unmet": reason_dicts(st.discharge.unmet),
            "met": reason_dicts(st.discharge.met),
        },
        "amendments": [
            {
                "version": a.version,
                "reason": a.reason,
                "changes": a.changes,
                "by": a.by_email,
                "at": a.at.isoformat(),
                "before": a.before,
                "after": a.after,
            }
            for a in st.amendments
        ],
    }
