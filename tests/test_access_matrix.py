"""One table: every route of the app against every kind of caller.

Columns: anonymous, patient (a patient account), nurse, clinician, admin (all of clinic A,
which owns the objects in the path), other (an admin of clinic B). Cells are the exact
status: ``200``, ``201``, ``303``, ``L`` (303 to the login page), ``401``, ``403``, ``404``,
``410``, ``422``, ``429``. Page subjects send their session cookie and a valid CSRF token; API
subjects send their bearer token. POST bodies are empty, so an allowed POST usually answers
422: access was granted and the body was checked.

A route without a row, or a row without a route, fails the test.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features.auth import service as accounts
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role, User
from ketacare.features.billing.models import Coverage, Payer
from ketacare.features.clinics.models import Clinic
from ketacare.features.consent import service as consent
from ketacare.features.outreach import service as outreach
from ketacare.features.patients.service import PatientInput, create_patient
from ketacare.features.rems import service as rems
from ketacare.features.screening.service import LeadInput, create_lead, store_screening
from tests.conftest import SECRET, make_clinic, make_user
from tests.controlled.support import matrix_params as cs_matrix_params
from tests.notes.support import matrix_params as notes_matrix_params
from tests.scheduling.support import scheduling_objects
from tests.sessions.support import make_session

SUBJECTS = ("anonymous", "patient", "nurse", "clinician", "admin", "other")
IGNORED = {"/openapi.json", "/docs", "/docs/oauth2-redirect"}

# fmt: off
MATRIX: dict[tuple[str, str], str] = {
    # method, path                                  anon patient nurse clinician admin other
    ("GET", "/healthz"):                             "200 200 200 200 200 200",
    ("GET", "/readyz"):                              "200 200 200 200 200 200",
    ("GET", "/version"):                             "200 200 200 200 200 200",
    ("GET", "/favicon.ico"):                         "200 200 200 200 200 200",
    ("GET", "/me"):                                  "L 200 303 303 303 303",
    # A patient signs only a consent of their own record (the matrix patient has none: 403).
    ("GET", "/me/consent/{template_id}"):            "L 403 403 403 403 403",
    ("POST", "/me/consent/{template_id}"):           "L 403 403 403 403 403",
    ("GET", "/"):                                    "200 303 303 303 303 303",
    ("GET", "/screen"):                              "200 200 200 200 200 200",
    ("POST", "/screen"):                             "422 422 422 422 422 422",
    ("GET", "/screen/result/{screening_id}"):        "200 200 200 200 200 200",
    ("POST", "/screen/result/{screening_id}/consult"): "422 422 422 422 422 422",
    ("POST", "/api/v1/screenings"):                  "422 422 422 422 422 422",
    ("POST", "/api/v1/leads"):                       "422 422 422 422 422 422",
    ("GET", "/api/v1/screenings/{screening_id}"):    "401 403 200 200 200 404",
    ("GET", "/api/v1/leads"):                        "401 403 200 200 200 200",
    ("GET", "/api/v1/leads/{lead_id}"):              "401 403 200 200 200 404",
    ("GET", "/login"):                               "200 303 303 303 303 303",
    ("POST", "/login"):                              "401 401 401 401 401 401",
    ("POST", "/logout"):                             "L L L L L L",
    ("GET", "/account"):                             "L 200 200 200 200 200",
    ("POST", "/account/password"):                   "L 422 422 422 422 422",
    ("POST", "/account/logout-all"):                 "L L L L L L",
    ("GET", "/leads"):                               "L 403 200 200 200 200",
    ("GET", "/leads/{lead_id}"):                     "L 403 200 200 200 404",
    ("POST", "/leads/{lead_id}/status"):             "L 403 422 422 422 404",
    ("GET", "/leads/{lead_id}/convert"):             "L 403 200 200 200 404",
    ("POST", "/leads/{lead_id}/convert"):            "L 403 422 422 422 404",
    ("GET", "/patients"):                            "L 403 200 200 200 200",
    ("GET", "/patients/new"):                        "L 403 200 200 200 200",
    ("POST", "/patients/new"):                       "L 403 422 422 422 422",
    ("GET", "/patients/{patient_id}"):               "L 403 200 200 200 404",
    ("GET", "/api/v1/patients"):                     "401 403 200 200 200 200",
    ("POST", "/api/v1/patients"):                    "401 403 422 422 422 422",
    ("GET", "/api/v1/patients/{patient_id}"):        "401 403 200 200 200 404",
    ("GET", "/admin/audit"):                         "L 403 403 403 200 200",
    ("GET", "/admin/instrument-texts"):              "L 403 403 403 200 200",
    ("POST", "/admin/instrument-texts"):             "L 403 403 403 422 422",
    ("POST", "/admin/instrument-texts/remove"):      "L 403 403 403 422 422",
    # intake, plan and measurement-based care (issues 3 and 4); a POST with an empty body
    # that still succeeds saves an all-unknown intake or stops a schedule.
    ("GET", "/a/{token}"): "200 200 200 200 200 200",
    ("POST", "/a/{token}"): "422 422 422 422 422 422",
    ("GET", "/alerts"): "L 403 200 200 200 200",
    ("POST", "/alerts/{alert_id}/acknowledge"): "L 403 422 422 422 404",
    ("GET", "/api/v1/alerts"): "401 403 200 200 200 200",
    ("POST", "/api/v1/alerts/{alert_id}/acknowledge"): "401 403 422 422 422 422",
    ("GET", "/api/v1/overdue"): "401 403 200 200 200 200",
    ("GET", "/api/v1/patients/{patient_id}/assessment"): "401 403 200 200 200 404",
    ("GET", "/api/v1/patients/{patient_id}/assessments"): "401 403 200 200 200 404",
    ("POST", "/api/v1/patients/{patient_id}/assessments"): "401 403 422 422 422 404",
    ("GET", "/api/v1/patients/{patient_id}/intake"): "401 403 200 200 200 404",
    ("PUT", "/api/v1/patients/{patient_id}/intake"): "401 403 403 200 403 404",
    ("GET", "/api/v1/patients/{patient_id}/intake/versions"): "401 403 200 200 200 404",
    ("GET", "/api/v1/patients/{patient_id}/intake/versions/{version}"): "401 403 200 200 200 404",
    ("GET", "/api/v1/patients/{patient_id}/plan"): "401 403 200 200 200 404",
    ("POST", "/api/v1/patients/{patient_id}/plan"): "401 403 403 422 403 404",
    ("GET", "/api/v1/patients/{patient_id}/plan.ics"): "401 403 200 200 200 404",
    ("GET", "/api/v1/patients/{patient_id}/plan/pk"): "401 403 200 200 200 404",
    ("GET", "/api/v1/patients/{patient_id}/schedules"): "401 403 200 200 200 404",
    ("POST", "/api/v1/patients/{patient_id}/schedules"): "401 403 422 422 422 404",
    ("DELETE", "/api/v1/patients/{patient_id}/schedules/{schedule_id}"): "401 403 204 204 204 404",
    ("GET", "/api/v1/patients/{patient_id}/schedules/{schedule_id}"): "401 403 200 200 200 404",
    ("PATCH", "/api/v1/patients/{patient_id}/schedules/{schedule_id}"): "401 403 200 200 200 404",
    ("GET", "/overdue"): "L 403 200 200 200 200",
    ("GET", "/patients/{patient_id}/assessment"): "L 403 200 200 200 404",
    ("GET", "/patients/{patient_id}/assessments"): "L 403 200 200 200 404",
    ("GET", "/patients/{patient_id}/assessments/new"): "L 403 200 200 200 404",
    ("POST", "/patients/{patient_id}/assessments/new"): "L 403 422 422 422 404",
    ("GET", "/patients/{patient_id}/intake"): "L 403 200 200 200 404",
    ("POST", "/patients/{patient_id}/intake"): "L 403 403 303 403 404",
    ("GET", "/patients/{patient_id}/plan"): "L 403 200 200 200 404",
    ("POST", "/patients/{patient_id}/plan"): "L 403 403 422 403 404",
    ("GET", "/patients/{patient_id}/plan.ics"): "L 403 200 200 200 404",
    ("POST", "/patients/{patient_id}/schedules"): "L 403 422 422 422 404",
    ("POST", "/patients/{patient_id}/schedules/{schedule_id}/stop"): "L 403 303 303 303 404",
    ("POST", "/patients/{patient_id}/links/{invitation_id}/resend"): "L 403 200 200 200 404",
    ("GET", "/patients/{patient_id}/trajectories"): "L 403 200 200 200 404",
    # sessions (issue 5); role policy (issue 13.14, features/auth/policy.py, docs/roles.md):
    # clinical decisions clinician only, charting nurse or clinician, never the admin (office)
    #                                               anon patient nurse clinician admin other
    ("POST", "/api/v1/patients/{patient_id}/sessions"): "401 403 409 409 403 404",  # one open
    ("GET", "/api/v1/patients/{patient_id}/sessions"):  "401 403 200 200 200 404",
    ("GET", "/api/v1/sessions/{session_id}"):           "401 403 200 200 200 404",
    ("PUT", "/api/v1/sessions/{session_id}/checklist"): "401 403 200 200 403 404",
    ("POST", "/api/v1/sessions/{session_id}/bp-decision"): "401 403 403 422 403 404",
    ("POST", "/api/v1/sessions/{session_id}/dose"):     "401 403 422 422 403 404",
    ("POST", "/api/v1/sessions/{session_id}/vitals"):   "401 403 422 422 403 404",
    ("POST", "/api/v1/sessions/{session_id}/scales"):   "401 403 422 422 403 404",
    ("POST", "/api/v1/sessions/{session_id}/adverse-events"): "401 403 422 422 403 404",
    ("GET", "/api/v1/sessions/{session_id}/discharge"): "401 403 200 200 200 404",
    ("POST", "/api/v1/sessions/{session_id}/discharge-approval"): "401 403 403 422 403 404",
    ("POST", "/api/v1/sessions/{session_id}/discharge"): "401 403 422 422 403 404",
    ("GET", "/api/v1/sessions/{session_id}/rems"):      "401 403 200 200 200 404",
    ("PUT", "/api/v1/sessions/{session_id}/rems"):      "401 403 422 422 403 404",
    ("POST", "/api/v1/sessions/{session_id}/sign"):     "401 403 422 422 403 404",
    ("POST", "/api/v1/sessions/{session_id}/amendments"): "401 403 422 422 403 404",
    ("GET", "/api/v1/sessions/{session_id}/rems.csv"):  "401 403 422 422 422 404",
    ("GET", "/api/v1/sessions/{session_id}/rems.pdf"):  "401 403 422 422 422 404",
    ("POST", "/api/v1/sessions/{session_id}/rems/submitted"): "401 403 422 422 422 404",
    ("GET", "/api/v1/rems/due"):                        "401 403 200 200 200 200",
    ("GET", "/patients/{patient_id}/sessions"):         "L 403 200 200 200 404",
    ("POST", "/patients/{patient_id}/sessions"):        "L 403 409 409 403 404",
    ("GET", "/sessions/{session_id}"):                  "L 403 200 200 200 404",
    ("GET", "/sessions/{session_id}/live"):             "L 403 200 200 200 404",
    ("POST", "/sessions/{session_id}/checklist"):       "L 403 303 303 403 404",
    ("POST", "/sessions/{session_id}/bp-decision"):     "L 403 403 422 403 404",
    ("POST", "/sessions/{session_id}/dose"):            "L 403 422 422 403 404",
    ("POST", "/sessions/{session_id}/vitals"):          "L 403 422 422 403 404",
    ("POST", "/sessions/{session_id}/scales"):          "L 403 422 422 403 404",
    ("POST", "/sessions/{session_id}/adverse-events"):  "L 403 422 422 403 404",
    ("POST", "/sessions/{session_id}/discharge-approval"): "L 403 403 422 403 404",
    ("POST", "/sessions/{session_id}/discharge"):       "L 403 422 422 403 404",
    ("POST", "/sessions/{session_id}/rems"):            "L 403 303 303 403 404",
    ("POST", "/sessions/{session_id}/sign"):            "L 403 422 422 403 404",
    ("POST", "/sessions/{session_id}/amendments"):      "L 403 422 422 403 404",
    ("GET", "/sessions/{session_id}/rems.csv"):         "L 403 422 422 422 404",
    ("GET", "/sessions/{session_id}/rems.pdf"):         "L 403 422 422 422 404",
    ("GET", "/today"):                                  "L 403 200 200 200 200",
    # outcome analytics and reports (issue 8)       anon patient nurse clinician admin other
    ("GET", "/analytics"):                              "L 403 200 200 200 200",
    ("GET", "/analytics/report.pdf"):                   "L 403 200 200 200 200",
    ("GET", "/patients/{patient_id}/report"):           "L 403 200 200 200 404",
    ("GET", "/patients/{patient_id}/report.pdf"):       "L 403 200 200 200 404",
    ("GET", "/api/v1/analytics/outcomes"):              "401 403 200 200 200 200",
    ("GET", "/fhir/metadata"):                          "200 200 200 200 200 200",
    ("GET", "/fhir/Patient/{patient_id}"):              "401 403 200 200 200 404",
    ("GET", "/fhir/Questionnaire/{questionnaire_id}"):  "401 403 200 200 200 200",
    ("GET", "/fhir/Observation"):                       "401 403 200 200 200 200",
    ("GET", "/fhir/QuestionnaireResponse"):             "401 403 200 200 200 200",
    ("POST", "/fhir/QuestionnaireResponse"):            "401 403 422 422 422 422",
    ("POST", "/fhir"):                                  "401 403 422 422 422 422",
    # REMS operations (features/rems, docs/rems.md)
    ("GET", "/api/v1/rems/setting"):                    "401 403 200 200 200 200",
    ("PUT", "/api/v1/rems/setting"):                    "401 403 403 403 200 200",
    ("POST", "/api/v1/rems/prescriber-attestations"):   "401 403 422 422 422 422",
    ("GET", "/api/v1/rems/dashboard"):                  "401 403 200 200 200 200",
    ("GET", "/api/v1/patients/{patient_id}/rems-enrolment"): "401 403 200 200 200 404",
    ("POST", "/api/v1/patients/{patient_id}/rems-enrolment"): "401 403 422 422 422 404",
    ("POST", "/api/v1/patients/{patient_id}/rems-enrolment/withdrawal"): "401 403 422 422 422 404",
    ("GET", "/api/v1/sessions/{session_id}/pmf.pdf"):   "401 403 200 200 200 404",
    ("GET", "/api/v1/sessions/{session_id}/pmf-submission"): "401 403 404 404 404 404",
    ("POST", "/api/v1/sessions/{session_id}/pmf-submission"): "401 403 422 422 422 404",
    ("GET", "/rems"):                                   "L 403 200 200 200 200",
    ("POST", "/rems/setting"):                          "L 403 403 403 303 303",
    ("POST", "/rems/attestations"):                     "L 403 422 422 403 403",
    ("GET", "/patients/{patient_id}/rems"):             "L 403 200 200 200 404",
    # The Patient Enrollment Form (issue 19.2): staff witness the patient's signature; only the
    # prescriber (a clinician) countersigns (the clinician's 303 enrols the matrix patient).
    ("GET", "/patients/{patient_id}/rems/enrolment-form"): "L 403 200 200 200 404",
    ("POST", "/patients/{patient_id}/rems/enrolment-form"): "L 403 422 422 422 404",
    ("POST", "/patients/{patient_id}/rems/enrolment-form/{enrolment_document_id}/countersign"):
        "L 403 403 303 403 404",
    ("GET", "/patients/{patient_id}/rems/enrolment-form/{enrolment_document_id}.pdf"):
        "L 403 200 200 200 404",
    ("POST", "/patients/{patient_id}/rems/withdrawal"): "L 403 403 422 422 404",
    ("GET", "/sessions/{session_id}/pmf.pdf"):          "L 403 200 200 200 404",
    ("POST", "/sessions/{session_id}/pmf-submission"):  "L 403 422 422 422 404",
    # Consent (features/consent, docs/consent.md)
    ("GET", "/api/v1/consent/templates"):               "401 403 200 200 200 200",
    ("POST", "/api/v1/consent/templates"):              "401 403 422 422 422 422",
    ("GET", "/api/v1/consent/reconsent"):               "401 403 200 200 200 200",
    ("GET", "/api/v1/patients/{patient_id}/consents"):  "401 403 200 200 200 404",
    ("POST", "/api/v1/patients/{patient_id}/consents"): "401 403 422 422 422 404",
    ("POST", "/api/v1/consent-documents/{document_id}/countersign"): "401 403 422 422 403 404",
    ("POST", "/api/v1/consent-documents/{document_id}/revocation"): "401 403 422 422 422 422",
    ("GET", "/api/v1/consent-documents/{document_id}/verify"): "401 403 200 200 200 404",
    ("GET", "/api/v1/consent-documents/{document_id}.pdf"): "401 403 200 200 200 404",
    ("GET", "/consent"):                                "L 403 200 200 200 200",
    ("POST", "/consent/templates"):                     "L 403 403 403 422 422",
    ("GET", "/patients/{patient_id}/consent"):          "L 403 200 200 200 404",
    ("GET", "/patients/{patient_id}/consent/{template_id}/sign"): "L 403 200 200 200 404",
    ("POST", "/patients/{patient_id}/consent/{template_id}/sign"): "L 403 422 422 422 404",
    ("POST", "/consent-documents/{document_id}/countersign"): "L 403 422 422 403 404",
    ("POST", "/consent-documents/{document_id}/revoke"): "L 403 422 422 422 404",
    ("GET", "/consent-documents/{document_id}.pdf"):    "L 403 200 200 200 404",
    # scheduling and the treatment floor (issue 17): setup by admins, bookings by staff,
    # opening a session by the care team; /b/{token} is the patient's booking link
    #                                               anon patient nurse clinician admin other
    ("GET", "/api/v1/scheduling/sites"):                         "401 403 200 200 200 200",
    ("POST", "/api/v1/scheduling/sites"):                        "401 403 422 422 422 422",
    ("POST", "/api/v1/scheduling/sites/{site_id}/chairs"):       "401 403 422 422 422 422",
    ("POST", "/api/v1/scheduling/sites/{site_id}/closures"):     "401 403 422 422 422 422",
    ("POST", "/api/v1/scheduling/sites/{site_id}/shifts"):       "401 403 422 422 422 422",
    ("GET", "/api/v1/scheduling/sites/{site_id}/day"):           "401 403 422 422 422 422",
    ("GET", "/api/v1/scheduling/sites/{site_id}/board"):         "401 403 200 200 200 404",
    ("GET", "/api/v1/scheduling/patients/{patient_id}/slots"):   "401 403 422 422 422 404",
    ("POST", "/api/v1/scheduling/patients/{patient_id}/course-search"): "401 403 422 422 422 404",
    ("POST", "/api/v1/scheduling/patients/{patient_id}/courses"):  "401 403 422 422 422 404",
    ("POST", "/api/v1/scheduling/patients/{patient_id}/bookings"): "401 403 422 422 422 404",
    ("GET", "/api/v1/scheduling/patients/{patient_id}/bookings"):  "401 403 200 200 200 404",
    ("POST", "/api/v1/scheduling/patients/{patient_id}/waitlist"): "401 403 422 422 422 404",
    ("GET", "/api/v1/scheduling/bookings/{booking_id}"):         "401 403 200 200 200 404",
    ("POST", "/api/v1/scheduling/bookings/{booking_id}/reschedule"): "401 403 422 422 422 422",
    ("POST", "/api/v1/scheduling/bookings/{booking_id}/cancel"):  "401 403 422 422 422 422",
    ("GET", "/scheduling"):                                      "L 403 200 200 200 200",
    ("GET", "/scheduling/sites/{site_id}/day"):                  "L 403 200 200 200 404",
    ("GET", "/scheduling/sites/{site_id}/board"):                "L 403 200 200 200 404",
    ("GET", "/scheduling/sites/{site_id}/board.json"):           "L 403 200 200 200 404",
    ("POST", "/scheduling/bookings/{booking_id}/check-in"):      "L 403 303 422 422 404",
    ("POST", "/scheduling/bookings/{booking_id}/cancel"):        "L 403 422 422 422 404",
    ("POST", "/scheduling/bookings/{booking_id}/link"):          "L 403 200 200 200 404",
    ("POST", "/scheduling/bookings/{booking_id}/session"):       "L 403 409 409 403 404",
    ("GET", "/patients/{patient_id}/bookings"):                  "L 403 200 200 200 404",
    ("POST", "/patients/{patient_id}/bookings/search"):          "L 403 422 422 422 404",
    ("POST", "/patients/{patient_id}/bookings/course"):          "L 403 422 422 422 404",
    ("POST", "/api/v1/scheduling/feeds"):                        "401 403 201 201 201 201",
    ("GET", "/api/v1/scheduling/feeds"):                         "401 403 200 200 200 200",
    ("POST", "/api/v1/scheduling/feeds/{feed_id}/revoke"):       "401 403 200 200 200 404",
    ("GET", "/cal/{token}.ics"):                                 "404 404 404 404 404 404",
    ("GET", "/b/{token}"):                                       "404 404 404 404 404 404",
    ("POST", "/b/{token}"):                                      "404 404 404 404 404 404",
    ("GET", "/w/{token}"):                                       "404 404 404 404 404 404",
    ("POST", "/w/{token}"):                                      "404 404 404 404 404 404",
    # controlled substances (issue 18): roles per KETACARE_CS_*_ROLES, checked in the service
    ("GET", "/api/v1/cs/registrations"):             "401 403 200 200 200 200",
    ("POST", "/api/v1/cs/registrations"):            "401 403 422 422 422 422",
    ("POST", "/api/v1/cs/receipts"):                 "401 403 422 422 422 422",
    ("GET", "/api/v1/cs/containers"):                "401 403 200 200 200 200",
    ("GET", "/api/v1/cs/containers/{container_id}/events"): "401 403 200 200 200 404",
    ("POST", "/api/v1/cs/containers/{container_id}/events"): "401 403 422 422 422 422",
    ("POST", "/api/v1/cs/counts"):                   "401 403 422 422 422 422",
    ("GET", "/api/v1/cs/cases"):                     "401 403 200 200 200 200",
    ("POST", "/api/v1/cs/cases/{case_id}"):          "401 403 403 200 200 404",
    ("POST", "/api/v1/cs/inventories"):              "401 403 422 422 422 422",
    ("GET", "/api/v1/cs/inventories/{inventory_id}"): "401 403 200 200 200 404",
    ("GET", "/api/v1/cs/log"):                       "401 403 422 422 422 422",
    ("GET", "/cs"):                                  "L 403 200 200 200 200",
    ("GET", "/cs/log"):                              "L 403 422 422 422 422",
    ("POST", "/cs/receipts"):                        "L 403 422 422 422 422",
    ("GET", "/cs/containers/{container_id}"):        "L 403 200 200 200 404",
    ("POST", "/cs/containers/{container_id}/events"): "L 403 422 422 422 404",
    ("POST", "/cs/containers/{container_id}/counts"): "L 403 422 422 422 404",
    ("POST", "/cs/cases/{case_id}"):                 "L 403 403 303 303 404",
    ("POST", "/cs/inventories"):                     "L 403 422 422 422 422",
    ("GET", "/cs/inventories/{inventory_id}"):       "L 403 200 200 200 404",
    ("POST", "/cs/registrations"):                   "L 403 422 422 422 422",
    # billing (issue 20): billing role, clinicians and admins read; billing role and clinicians
    # write (the billing role's own column: tests/billing/test_billing_access.py). The matrix
    # session is not signed: confirming it is a 409.
    #                                               anon patient nurse clinician admin other
    ("GET", "/billing"):                                "L 403 403 200 200 200",
    ("GET", "/billing/sessions/{session_id}"):          "L 403 403 200 200 404",
    ("POST", "/billing/sessions/{session_id}/confirm"): "L 403 403 409 403 404",
    ("GET", "/billing/sessions/{session_id}/superbill.pdf"): "L 403 403 200 200 404",
    ("GET", "/billing/patients/{patient_id}"):          "L 403 403 200 200 404",
    ("POST", "/billing/patients/{patient_id}/prior-auths"): "L 403 403 422 403 404",
    ("POST", "/billing/patients/{patient_id}/ledger"):  "L 403 403 422 403 404",
    ("POST", "/billing/patients/{patient_id}/claims"):  "L 403 403 422 403 404",
    ("GET", "/billing/patients/{patient_id}/superbill.pdf"): "L 403 403 422 422 404",
    ("GET", "/billing/patients/{patient_id}/statement.pdf"): "L 403 403 200 200 404",
    ("GET", "/billing/patients/{patient_id}/prior-auth-packet.pdf"): "L 403 403 200 200 404",
    # Payers and coverage (issue 20): billing users and admins write, clinicians read.
    ("GET", "/billing/payers"):                         "L 403 403 200 200 200",
    ("POST", "/billing/payers"):                        "L 403 403 403 422 422",
    ("GET", "/billing/payers/{payer_id}"):              "L 403 403 200 200 404",
    ("POST", "/billing/payers/{payer_id}"):             "L 403 403 403 422 404",
    ("GET", "/billing/patients/{patient_id}/coverage"): "L 403 403 200 200 404",
    ("POST", "/billing/patients/{patient_id}/coverage"): "L 403 403 403 422 404",
    ("POST", "/billing/patients/{patient_id}/coverage/{coverage_id}"): "L 403 403 403 422 404",
    ("GET", "/api/v1/billing/payers"):                  "401 403 403 200 200 200",
    ("POST", "/api/v1/billing/payers"):                 "401 403 403 403 422 422",
    ("PUT", "/api/v1/billing/payers/{payer_id}"):       "401 403 403 403 422 404",
    ("GET", "/api/v1/billing/patients/{patient_id}/coverages"): "401 403 403 200 200 404",
    ("POST", "/api/v1/billing/patients/{patient_id}/coverages"): "401 403 403 403 422 404",
    ("PUT", "/api/v1/billing/patients/{patient_id}/coverages/{coverage_id}"):
        "401 403 403 403 422 404",
    ("GET", "/api/v1/billing/sessions/{session_id}"):   "401 403 403 200 200 404",
    ("POST", "/api/v1/billing/sessions/{session_id}/confirm"): "401 403 403 422 403 404",
    ("GET", "/api/v1/billing/patients/{patient_id}"):   "401 403 403 200 200 404",
    ("POST", "/api/v1/billing/patients/{patient_id}/prior-auths"): "401 403 403 422 403 404",
    ("POST", "/api/v1/billing/patients/{patient_id}/ledger"): "401 403 403 422 403 404",
    ("POST", "/api/v1/billing/patients/{patient_id}/claims"): "401 403 403 422 403 404",
    # clinical notes (issue 21.7): nursing notes by nurses and clinicians, other notes by
    # clinicians, checked in the service; the matrix note is a clinician's signed progress note.
    #                                               anon patient nurse clinician admin other
    ("GET", "/patients/{patient_id}/notes"):                    "L 403 200 200 200 404",
    ("POST", "/patients/{patient_id}/notes"):                   "L 403 422 422 422 404",
    ("GET", "/patients/{patient_id}/notes/{note_id}"):          "L 403 200 200 200 404",
    ("POST", "/patients/{patient_id}/notes/{note_id}"):         "L 403 422 422 422 404",
    ("GET", "/patients/{patient_id}/notes/{note_id}/sign"):     "L 403 303 303 303 404",
    ("POST", "/patients/{patient_id}/notes/{note_id}/sign"):    "L 403 422 422 422 404",
    ("POST", "/patients/{patient_id}/notes/{note_id}/addenda"): "L 403 403 303 403 404",
    ("POST", "/sessions/{session_id}/notes"):                   "L 403 422 422 403 404",
    ("GET", "/api/v1/note-templates"):                          "401 403 200 200 200 200",
    ("POST", "/api/v1/note-templates"):                         "401 403 422 422 422 422",
    ("GET", "/api/v1/patients/{patient_id}/notes"):             "401 403 200 200 200 404",
    ("POST", "/api/v1/patients/{patient_id}/notes"):            "401 403 422 422 422 404",
    ("GET", "/api/v1/patients/{patient_id}/notes/{note_id}"):   "401 403 200 200 200 404",
    ("PUT", "/api/v1/patients/{patient_id}/notes/{note_id}"):   "401 403 422 422 422 404",
    ("POST", "/api/v1/patients/{patient_id}/notes/{note_id}/sign"): "401 403 409 409 409 404",
    ("POST", "/api/v1/patients/{patient_id}/notes/{note_id}/addenda"): "401 403 403 201 403 404",
    # admin pages (issue 21.8): users, API tokens and clinic settings, the clinic's admins
    # only; the referral letter, clinicians only. {user_id} and {token_id}: another nurse of
    # clinic A and a token of theirs.
    #                                               anon patient nurse clinician admin other
    ("GET", "/admin/users"):                         "L 403 403 403 200 200",
    ("POST", "/admin/users"):                        "L 403 403 403 422 422",
    ("GET", "/admin/users/{user_id}"):               "L 403 403 403 200 404",
    ("POST", "/admin/users/{user_id}/role"):         "L 403 403 403 422 404",
    ("POST", "/admin/users/{user_id}/active"):       "L 403 403 403 422 404",
    ("POST", "/admin/users/{user_id}/password"):     "L 403 403 403 200 404",
    ("POST", "/admin/users/{user_id}/tokens"):       "L 403 403 403 422 404",
    ("POST", "/admin/users/{user_id}/tokens/{token_id}/revoke"): "L 403 403 403 303 404",
    # e-mailed password reset (issue 21.8): public, the same answer whoever asks
    ("POST", "/admin/users/{user_id}/password-link"): "L 403 403 403 200 404",
    ("GET", "/password/forgot"):                     "200 200 200 200 200 200",
    ("POST", "/password/forgot"):                    "422 422 422 422 422 422",
    ("GET", "/password/reset/{token}"):              "404 404 404 404 404 404",
    ("POST", "/password/reset/{token}"):             "404 404 404 404 404 404",
    ("GET", "/admin/settings"):                      "L 403 403 403 200 200",
    ("POST", "/admin/settings"):                     "L 403 403 403 303 303",
    ("GET", "/patients/{patient_id}/letter"):        "L 403 403 200 403 404",
    # patient portal (issue 21.4): sign-in by e-mailed link; /me shows only the caller's own
    # record; the matrix patient account is not linked to the matrix patient, so that
    # patient's questionnaire link is another patient's data: 404 (staff: 403)
    #                                               anon patient nurse clinician admin other
    ("GET", "/portal/sign-in"):                         "200 303 200 200 200 200",
    ("POST", "/portal/sign-in"):                        "422 422 422 422 422 422",
    ("GET", "/portal/link/{token}"):                    "404 404 404 404 404 404",
    ("POST", "/portal/link/{token}"):                   "404 404 404 404 404 404",
    ("POST", "/me/questionnaires/{invitation_id}"):     "L 404 403 403 403 403",
    # Role home pages and the nav badges (issue 21.2, 21.8): the patient goes on to /me.
    ("GET", "/home"):                                "L 303 200 200 200 200",
    ("GET", "/home/badges.json"):                    "L 403 200 200 200 200",
    # Allergies and medicines (issue 21.1): the care team changes them; the ids in the path
    # do not exist, so an allowed removal answers 404 (an admin is refused first: 403).
    ("POST", "/patients/{patient_id}/allergies"):       "L 403 422 422 403 404",
    # The patient's address (issue 18, 21 CFR 1304.22(c)): staff keep it; every part is
    # optional, so the empty form or body is a valid change (it clears the address).
    ("POST", "/patients/{patient_id}/address"):         "L 403 303 303 303 404",
    ("PUT", "/api/v1/patients/{patient_id}/address"):   "401 403 200 200 200 404",
    ("POST", "/patients/{patient_id}/allergies/{allergy_id}/remove"): "L 403 404 404 403 404",
    ("POST", "/patients/{patient_id}/medications"):     "L 403 422 422 403 404",
    ("POST", "/patients/{patient_id}/medications/{medication_id}/remove"): "L 403 404 404 403 404",
    ("GET", "/api/v1/patients/{patient_id}/allergies"): "401 403 200 200 200 404",
    ("POST", "/api/v1/patients/{patient_id}/allergies"): "401 403 422 422 403 404",
    ("DELETE", "/api/v1/patients/{patient_id}/allergies/{allergy_id}"): "401 403 404 404 403 404",
    ("GET", "/api/v1/patients/{patient_id}/medications"): "401 403 200 200 200 404",
    ("POST", "/api/v1/patients/{patient_id}/medications"): "401 403 422 422 403 404",
    ("DELETE", "/api/v1/patients/{patient_id}/medications/{medication_id}"):
        "401 403 404 404 403 404",
}
# fmt: on


def app_routes(app: FastAPI) -> Iterator[tuple[str, str]]:
    """Every (method, path) the app serves, including those of included routers."""
    for route in app.routes:
        contexts = (
            route.effective_route_contexts()
            if hasattr(route, "effective_route_contexts")
            else [route]
        )
        for ctx in contexts:
            path = getattr(ctx, "path", None)
            methods = getattr(ctx, "methods", None) or set()
            if path is None or path in IGNORED:
                continue
            for method in sorted(set(methods) - {"HEAD"}):
                yield method, path


def test_every_route_has_a_row(app: FastAPI) -> None:
    served = set(app_routes(app))
    assert sorted(served - MATRIX.keys()) == [], "routes without a row in MATRIX"
    assert sorted(MATRIX.keys() - served) == [], "rows for routes the app does not serve"


@dataclass
class World:
    """Clinic A's objects, the users and one API token per subject."""

    params: dict[str, str]
    users: dict[str, User]
    tokens: dict[str, str]


@pytest.fixture
def world(db: Session, settings: Any, app: FastAPI) -> World:
    return world_objects(db, settings, app)


def world_objects(db: Session, settings: Any, app: FastAPI) -> World:
    """Clinic A's objects of every kind (also walked by tests/page_walk.py)."""
    clinic_a = make_clinic(db, settings.public_clinic)
    clinic_b = make_clinic(db, "other-clinic", "Other")
    users = {
        "patient": make_user(db, clinic_a, Role.patient),
        "nurse": make_user(db, clinic_a, Role.nurse),
        "clinician": make_user(db, clinic_a, Role.clinician),
        "admin": make_user(db, clinic_a, Role.admin),
        "other": make_user(db, clinic_b, Role.admin),
    }
    patient = create_patient(db, clinic_a.id, PatientInput("Pat", "Ient", "1980-01-01"))
    screening, _ = store_screening(db, clinic_a, [1] * 9, [1] * 7)
    lead = create_lead(db, clinic_a, LeadInput("Lee", "555 0100", "", "", True), screening)
    tokens = {k: accounts.create_api_token(db, SECRET, u, "matrix") for k, u in users.items()}
    db.commit()
    session = make_session(db, clinic_a, patient)
    params = {"patient_id": str(patient.id), "lead_id": str(lead.id), "screening_id": screening.id}
    params["session_id"] = str(session.id)
    params |= consent_objects(db, users, patient)
    params |= billing_objects(db, patient)
    params |= cs_matrix_params(db, users["clinician"], users["nurse"])
    params["questionnaire_id"] = "phq9"
    # Measurement-based care objects, made through the API as clinic A's admin.
    admin = {"Authorization": f"Bearer {tokens['admin']}"}
    base = f"/api/v1/patients/{patient.id}"
    with TestClient(app) as c:
        schedule = c.post(
            f"{base}/schedules",
            headers=admin,
            json={"instrument": "phq9", "recurrence": "weekly", "start_date": "2030-01-07"},
        )
        assert schedule.status_code == 201, schedule.text
        scored = c.post(
            f"{base}/assessments",
            headers=admin,
            json={"instrument": "phq9", "answers": [1, 1, 1, 1, 1, 1, 1, 1, 2]},
        )
        assert scored.status_code == 201, scored.text
        alert_id = c.get("/api/v1/alerts", headers=admin).json()[0]["id"]
    outgoing = outreach.new_link(db, settings, patient, "phq9", utcnow(), utcnow())
    assert outgoing is not None
    db.commit()
    params |= {
        "schedule_id": str(schedule.json()["id"]),
        "alert_id": str(alert_id),
        "version": "1",
        "token": outgoing.url.rsplit("/", 1)[1],
        "invitation_id": str(outgoing.invitation_id),
    }
    params |= scheduling_objects(db, clinic_a.id, patient.id)
    params |= notes_matrix_params(db, users["clinician"], patient)
    params |= admin_objects(db, clinic_a)
    params |= {"allergy_id": "999999", "medication_id": "999999"}
    return World(params, users, tokens)


def admin_objects(db: Session, clinic: Any) -> dict[str, str]:
    """An account of clinic A the admin pages act on, and an API token of it."""
    target = make_user(db, clinic, Role.nurse)
    accounts.create_api_token(db, SECRET, target, "matrix target")
    db.commit()
    token = accounts.api_tokens(db, target)[0]
    return {"user_id": str(target.id), "token_id": str(token.id)}


def billing_objects(db: Session, patient: Any) -> dict[str, str]:
    """A payer of clinic A and the patient's coverage with it (issue 20)."""
    payer = Payer(clinic_id=patient.clinic_id, name="Matrix Health", payer_id="MX1")
    db.add(payer)
    db.flush()
    cover = Coverage(clinic_id=patient.clinic_id, patient_id=patient.id, payer_id=payer.id,
                     member_id="M1")  # fmt: skip
    db.add(cover)
    db.commit()
    return {"payer_id": str(payer.id), "coverage_id": str(cover.id)}


def consent_objects(db: Session, users: dict[str, User], patient: Any) -> dict[str, str]:
    """A consent template (no countersignature) and a document signed by the patient."""
    now = utcnow()
    admin = Actor.for_user(users["admin"], "page")
    data = consent.TemplateInput("matrix", "Matrix consent", "Text.", consent.ATTESTATION, "iv")
    template = consent.new_version(db, admin, patient.clinic_id, data, now)
    png = io.BytesIO()
    Image.new("RGB", (20, 10), "white").save(png, format="PNG")
    nurse = Actor.for_user(users["nurse"], "page")
    doc = consent.sign(db, nurse, patient, template, "Pat Ient", True, png.getvalue(), now)
    enrolment = rems.sign_enrolment(db, nurse, patient, "Pat Ient", True, png.getvalue(), now)
    db.commit()
    return {
        "template_id": str(template.id),
        "document_id": str(doc.id),
        "enrolment_document_id": str(enrolment.id),
    }


def classify(response: Any) -> str:
    if response.status_code in (302, 303, 307) and response.headers.get("location", "").startswith(
        "/login"
    ):
        return "L"
    return str(response.status_code)


POLICY = accounts.SessionPolicy(max_age=timedelta(hours=1), idle=timedelta(hours=1))


def call_as(
    client: TestClient, db: Session, user: User | None, token: str, method: str, path: str, url: str
) -> Any:
    """One request of the matrix from an empty cookie jar: with a fresh login session of
    ``user`` (logout routes end sessions) and, for the API, its ``token``; or anonymous."""
    client.cookies.clear()
    client.cookies.set("kc_csrf", "matrix-csrf")
    headers = {"x-csrf-token": "matrix-csrf"}
    if user is not None:
        session = accounts.start_session(db, SECRET, user, POLICY)
        db.commit()
        client.cookies.set("kc_session", session)
        if path.startswith(("/api/", "/fhir")):
            headers["Authorization"] = f"Bearer {token}"
    if method == "GET":
        return client.get(url, headers=headers)
    if path.startswith(("/api/", "/fhir")):
        return client.request(method, url, json={}, headers=headers)
    return client.request(method, url, data={"csrf_token": "matrix-csrf"}, headers=headers)


def observe(client: TestClient, db: Session, world: World, method: str, path: str) -> list[str]:
    """The outcome for each subject."""
    url = path.format(**world.params)
    got = []
    for subject in SUBJECTS:
        user = None if subject == "anonymous" else world.users[subject]
        token = world.tokens.get(subject, "")
        got.append(classify(call_as(client, db, user, token, method, path, url)))
    return got


@pytest.mark.long
def test_access_matrix(app: FastAPI, db: Session, world: World) -> None:
    failures = []
    # One client (one app start) for the 2,400 requests; each request starts from no cookie.
    with TestClient(app, follow_redirects=False) as client:
        for (method, path), row in sorted(MATRIX.items()):
            got = observe(client, db, world, method, path)
            if got != row.split():
                failures.append(f"{method} {path}: expected {row}, got {' '.join(got)}")
    assert failures == [], "\n".join(failures)


def column_failures(
    app: FastAPI, db: Session, world: World, role: Role, expected: Callable[[str, str], str]
) -> list[str]:
    """Every route of the matrix called by a new user of ``role`` (a login session for pages,
    a token for the API), against ``expected(method, path)``: the mismatches."""
    clinic = db.get(Clinic, world.users["admin"].clinic_id)
    assert clinic is not None
    user = make_user(db, clinic, role)
    token = accounts.create_api_token(db, SECRET, user, "matrix")
    db.commit()
    failures = []
    with TestClient(app, follow_redirects=False) as client:
        for (method, path), _ in sorted(MATRIX.items()):
            url = path.format(**world.params)
            response = call_as(client, db, user, token, method, path, url)
            got, want = classify(response), expected(method, path)
            if got != want:
                failures.append(f"{method} {path}: expected {want}, got {got}")
    return failures
