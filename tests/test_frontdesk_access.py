"""The front desk's column of the access matrix (tests/test_access_matrix.py), one row per
route: the routes listed in ``DESK`` are open to it (scheduling, demographics, new patients
and leads, links) with the status written there; every other route of the app refuses it like
a patient account (403 on staff pages and API), except where ``NOT_LIKE_PATIENT`` says why.
A route of the matrix that is neither listed here nor refused fails the test, so a new route
is closed to the front desk until someone decides otherwise (docs/roles.md)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI
from sqlalchemy.orm import Session

from ketacare.features.auth import service as accounts
from ketacare.features.auth.models import Role
from tests.test_access_matrix import (  # noqa: F401
    MATRIX,
    SUBJECTS,
    World,
    classify,
    column_failures,
    world,
)

POLICY = accounts.SessionPolicy(max_age=timedelta(hours=1), idle=timedelta(hours=1))
PATIENT = SUBJECTS.index("patient")

# fmt: off
#: Routes the front desk may use, with the status an empty request gets (as the matrix).
DESK: dict[tuple[str, str], str] = {
    # its home and the header
    ("GET", "/home"):                                            "200",
    # patient demographics, new patients (the detail API with allergies and medicines is
    # clinical: refused)
    ("GET", "/patients"):                                        "200",
    ("GET", "/patients/new"):                                    "200",
    ("POST", "/patients/new"):                                   "422",
    ("GET", "/patients/{patient_id}"):                           "200",  # demographics only
    ("GET", "/api/v1/patients"):                                 "200",
    ("POST", "/api/v1/patients"):                                "422",
    # consultation requests (no screening scores shown) and their conversion to patients
    ("GET", "/leads"):                                           "200",
    ("GET", "/leads/{lead_id}"):                                 "200",
    ("POST", "/leads/{lead_id}/status"):                         "422",
    ("GET", "/leads/{lead_id}/convert"):                         "200",
    ("POST", "/leads/{lead_id}/convert"):                        "422",
    # scheduling: book, reschedule, cancel, no-show, waitlist, day view, the board (read-only),
    # confirmation links; setting up sites, chairs, closures and shifts stays with admins
    ("GET", "/api/v1/scheduling/sites"):                         "200",
    ("POST", "/api/v1/scheduling/sites"):                        "422",
    ("POST", "/api/v1/scheduling/sites/{site_id}/chairs"):       "422",
    ("POST", "/api/v1/scheduling/sites/{site_id}/closures"):     "422",
    ("POST", "/api/v1/scheduling/sites/{site_id}/shifts"):       "422",
    ("GET", "/api/v1/scheduling/sites/{site_id}/day"):           "422",
    ("GET", "/api/v1/scheduling/sites/{site_id}/board"):         "200",
    ("GET", "/api/v1/scheduling/patients/{patient_id}/slots"):   "422",
    ("POST", "/api/v1/scheduling/patients/{patient_id}/course-search"): "422",
    ("POST", "/api/v1/scheduling/patients/{patient_id}/courses"): "422",
    ("POST", "/api/v1/scheduling/patients/{patient_id}/bookings"): "422",
    ("GET", "/api/v1/scheduling/patients/{patient_id}/bookings"): "200",
    ("POST", "/api/v1/scheduling/patients/{patient_id}/waitlist"): "422",
    ("GET", "/api/v1/scheduling/bookings/{booking_id}"):         "200",
    ("POST", "/api/v1/scheduling/bookings/{booking_id}/reschedule"): "422",
    ("POST", "/api/v1/scheduling/bookings/{booking_id}/cancel"): "422",
    ("POST", "/api/v1/scheduling/feeds"):                        "201",
    ("GET", "/api/v1/scheduling/feeds"):                         "200",
    ("POST", "/api/v1/scheduling/feeds/{feed_id}/revoke"):       "200",
    ("GET", "/scheduling"):                                      "200",
    ("GET", "/scheduling/sites/{site_id}/day"):                  "200",
    ("GET", "/scheduling/sites/{site_id}/board"):                "200",
    ("GET", "/scheduling/sites/{site_id}/board.json"):           "200",
    ("POST", "/scheduling/bookings/{booking_id}/check-in"):      "303",
    ("POST", "/scheduling/bookings/{booking_id}/cancel"):        "422",
    ("POST", "/scheduling/bookings/{booking_id}/link"):          "200",
    ("POST", "/scheduling/bookings/{booking_id}/session"):       "403",  # nurse or clinician
    ("GET", "/patients/{patient_id}/bookings"):                  "200",
    ("POST", "/patients/{patient_id}/bookings/search"):          "422",
    ("POST", "/patients/{patient_id}/bookings/course"):          "422",
}

#: Outside ``DESK``, where the front desk differs from a patient account.
NOT_LIKE_PATIENT = {
    ("GET", "/me"): "303",  # patients' own page: other roles are sent on
    ("GET", "/portal/sign-in"): "200",  # only a signed-in patient is sent on to /me
    ("POST", "/me/questionnaires/{invitation_id}"): "403",  # patients only
}
# fmt: on


def expected(method: str, path: str) -> str:
    if (method, path) in DESK:
        return DESK[(method, path)]
    return NOT_LIKE_PATIENT.get((method, path), MATRIX[(method, path)].split()[PATIENT])


def test_desk_rows_are_routes() -> None:
    assert sorted(DESK.keys() - MATRIX.keys()) == []


def test_front_desk_column(app: FastAPI, db: Session, world: World) -> None:  # noqa: F811
    failures = column_failures(app, db, world, Role.frontdesk, expected)
    assert failures == [], "\n".join(failures)
