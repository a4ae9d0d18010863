"""Who may do what: the clinical writes each staff role may make (docs/roles.md).

* clinician: the clinical decisions: the intake (from which the eligibility verdict and
  care pathway are derived), the treatment plan (drug, dose per kg, schedule), the decision
  on a raised blood pressure and the discharge sign-off;
* nurse: charting a treatment session (start, pre-dose checklist, dose given, vitals,
  scales, adverse events, discharge, REMS form, signature, amendments), with the clinician;
* admin: office and configuration (patients' registration, consultation requests,
  questionnaire schedules, alerts, the audit log, licensed text); no clinical writes.

Every other staff route is open to the three staff roles (reads, office work); the
admin-only pages have their own dependency (``PageAdmin``). The table is keyed by method and
route template and checked (``auth.deps.check_role_policy``) by the loaders of the patient
and the treatment session these routes act on, once the object is found in the caller's
clinic: another clinic's staff still get 404, a refused role 403 before the route runs.
"""

from __future__ import annotations

from ketacare.features.auth.models import Role

CLINICIAN = frozenset({Role.clinician})
CARE_TEAM = frozenset({Role.clinician, Role.nurse})

#: (method, route path) -> the roles that may call it.
ROLE_POLICY: dict[tuple[str, str], frozenset[Role]] = {
    # Clinical decisions: clinician only.
    ("POST", "/patients/{patient_id}/intake"): CLINICIAN,
    ("PUT", "/api/v1/patients/{patient_id}/intake"): CLINICIAN,
    ("POST", "/patients/{patient_id}/plan"): CLINICIAN,
    ("POST", "/api/v1/patients/{patient_id}/plan"): CLINICIAN,
    ("POST", "/sessions/{session_id}/bp-decision"): CLINICIAN,
    ("POST", "/api/v1/sessions/{session_id}/bp-decision"): CLINICIAN,
    ("POST", "/sessions/{session_id}/discharge-approval"): CLINICIAN,
    ("POST", "/api/v1/sessions/{session_id}/discharge-approval"): CLINICIAN,
    # Charting a session: nurse or clinician, never the office.
    ("POST", "/patients/{patient_id}/sessions"): CARE_TEAM,
    ("POST", "/api/v1/patients/{patient_id}/sessions"): CARE_TEAM,
    ("POST", "/sessions/{session_id}/checklist"): CARE_TEAM,
    ("PUT", "/api/v1/sessions/{session_id}/checklist"): CARE_TEAM,
    ("POST", "/sessions/{session_id}/dose"): CARE_TEAM,
    ("POST", "/api/v1/sessions/{session_id}/dose"): CARE_TEAM,
    ("POST", "/sessions/{session_id}/vitals"): CARE_TEAM,
    ("POST", "/api/v1/sessions/{session_id}/vitals"): CARE_TEAM,
    ("POST", "/sessions/{session_id}/scales"): CARE_TEAM,
    ("POST", "/api/v1/sessions/{session_id}/scales"): CARE_TEAM,
    ("POST", "/sessions/{session_id}/adverse-events"): CARE_TEAM,
    ("POST", "/api/v1/sessions/{session_id}/adverse-events"): CARE_TEAM,
    ("POST", "/sessions/{session_id}/discharge"): CARE_TEAM,
    ("POST", "/api/v1/sessions/{session_id}/discharge"): CARE_TEAM,
    ("POST", "/sessions/{session_id}/rems"): CARE_TEAM,
    ("PUT", "/api/v1/sessions/{session_id}/rems"): CARE_TEAM,
    ("POST", "/sessions/{session_id}/sign"): CARE_TEAM,
    ("POST", "/api/v1/sessions/{session_id}/sign"): CARE_TEAM,
    ("POST", "/sessions/{session_id}/amendments"): CARE_TEAM,
    ("POST", "/api/v1/sessions/{session_id}/amendments"): CARE_TEAM,
}

#: Billing (features/billing, issue 20): the billing pages are open to these roles; the
#: ``billing`` role is not staff, so every clinical page and API refuses it (403).
BILLING_READERS = frozenset({Role.billing, Role.admin, Role.clinician})
#: Confirming suggested codes, claims, prior authorisations and the ledger.
BILLING_WRITERS = frozenset({Role.billing, Role.clinician})
for _method, _path in (
    ("POST", "/billing/sessions/{session_id}/confirm"),
    ("POST", "/api/v1/billing/sessions/{session_id}/confirm"),
    ("POST", "/billing/patients/{patient_id}/claims"),
    ("POST", "/api/v1/billing/patients/{patient_id}/claims"),
    ("POST", "/billing/patients/{patient_id}/prior-auths"),
    ("POST", "/api/v1/billing/patients/{patient_id}/prior-auths"),
    ("POST", "/billing/patients/{patient_id}/ledger"),
    ("POST", "/api/v1/billing/patients/{patient_id}/ledger"),
):
    ROLE_POLICY[(_method, _path)] = BILLING_WRITERS

#: Payers and a patient's coverage (issue 20): billing users and admins write, clinicians read.
PAYER_WRITERS = frozenset({Role.billing, Role.admin})
for _method, _path in (
    ("POST", "/billing/patients/{patient_id}/coverage"),
    ("POST", "/billing/patients/{patient_id}/coverage/{coverage_id}"),
    ("POST", "/api/v1/billing/patients/{patient_id}/coverages"),
    ("PUT", "/api/v1/billing/patients/{patient_id}/coverages/{coverage_id}"),
):
    ROLE_POLICY[(_method, _path)] = PAYER_WRITERS

#: Allergies and current medicines on the patient chart (issue 21.1): the care team.
for _method, _path in (
    ("POST", "/patients/{patient_id}/allergies"),
    ("POST", "/patients/{patient_id}/allergies/{allergy_id}/remove"),
    ("POST", "/patients/{patient_id}/medications"),
    ("POST", "/patients/{patient_id}/medications/{medication_id}/remove"),
    ("POST", "/api/v1/patients/{patient_id}/allergies"),
    ("DELETE", "/api/v1/patients/{patient_id}/allergies/{allergy_id}"),
    ("POST", "/api/v1/patients/{patient_id}/medications"),
    ("DELETE", "/api/v1/patients/{patient_id}/medications/{medication_id}"),
):
    ROLE_POLICY[(_method, _path)] = CARE_TEAM

#: The front desk (issue 17): the scheduling pages and API (book, reschedule, cancel, no-show,
#: waitlist, the day view, the chair board read-only, confirmation links), patient demographics,
#: new patients and leads. Routes open to the front desk take ``PageDeskActor``/``ApiDeskActor``
#: (``auth.deps``) or the desk patient loaders (``patients.deps``); every other staff route
#: keeps ``PageActor``/``ApiActor``, which refuse the ``frontdesk`` role (it is not staff): no
#: clinical notes, scores, session charting, controlled substances or REMS forms (403).
FRONT_OFFICE = frozenset({Role.admin, Role.clinician, Role.nurse, Role.frontdesk})

_NAMES = {
    CLINICIAN: "a clinician",
    CARE_TEAM: "a nurse or a clinician",
    BILLING_WRITERS: "a billing user or a clinician",
    PAYER_WRITERS: "a billing user or an admin",
}


def refusal(method: str, path: str, role: Role) -> str | None:
    """Why ``role`` may not call ``method path``, or None if it may."""
    allowed = ROLE_POLICY.get((method, path))
    if allowed is None or role in allowed:
        return None
    return f"only {_NAMES.get(allowed, 'another role')} may do this (your role: {role.value})"
