"""Every page a user can reach, for the whole-app browser walks (accessibility, issue 21.5;
phone and tablet widths, 21.6): a clinic with an object of every kind (the access matrix's
world, a few generated patients with plans, sessions and scores, a billing user, a booking
link) and the list of pages to visit.

A new page goes into ``staff_pages`` (or ``public_pages``): both walks then check it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.domain.course.booking import Kind
from ketacare.features._kit import clock
from ketacare.features.auth.models import Role, User
from ketacare.features.demo.generate import generate
from ketacare.features.intake.models import TreatmentPlan
from ketacare.features.patients.models import Patient
from ketacare.features.scheduling import service as scheduling
from ketacare.features.scheduling.models import Booking
from ketacare.features.sessions.models import TreatmentSession
from ketacare.settings import Settings
from tests.conftest import SECRET, make_clinic, make_user
from tests.reports.support import TODAY
from tests.test_access_matrix import World, world_objects

#: The staff roles walked, each through every page it may open.
STAFF = ("admin", "clinician", "nurse", "billing", "frontdesk")


@dataclass
class Site:
    """The walked clinic: users by role, path parameters, and the pages."""

    users: dict[str, User]
    params: dict[str, str]

    def public_pages(self) -> list[str]:
        """Pages without a login: self-screen, its result, the one-time links, login."""
        p = self.params
        return [
            "/",
            "/screen",
            f"/screen/result/{p['screening_id']}",
            "/login",
            "/portal/sign-in",
            f"/a/{p['token']}",
            "/a/not-a-valid-link-token-0000",
            f"/b/{p['booking_token']}",
            "/password/forgot",
            "/password/reset/not-a-valid-link-token-0000",
        ]

    def patient_pages(self) -> list[str]:
        """A patient's own pages (the patient account)."""
        return ["/me", "/account", "/screen"]

    def staff_pages(self) -> list[str]:
        """Every staff page, with a patient that has each kind of record."""
        p = self.params
        rich = f"/patients/{p['rich_patient_id']}"  # plan, sessions and scores (generated)
        full = f"/patients/{p['patient_id']}"  # consent, REMS, booking, alert, CS, link
        pages = [
            "/",
            "/home",
            "/account",
            "/leads",
            f"/leads/{p['lead_id']}",
            f"/leads/{p['lead_id']}/convert",
            "/patients",
            "/patients/new",
        ]
        for base in (rich, full):
            pages += [
                base,
                f"{base}/intake",
                f"{base}/assessment",
                f"{base}/plan",
                f"{base}/assessments",
                f"{base}/trajectories",
                f"{base}/report",
                f"{base}/sessions",
                f"{base}/bookings",
                f"{base}/rems",
                f"{base}/consent",
                f"{base}/notes",
                f"{base}/letter",
            ]
        pages += [
            f"{full}/assessments/new?instrument=phq9",
            f"{full}/assessments/new?instrument=madrs",
            f"{full}/consent/{p['template_id']}/sign",
            f"/sessions/{p['session_id']}",  # open: the charting forms
            f"/sessions/{p['rich_session_id']}",  # closed and signed
            "/today",
            "/alerts",
            "/overdue",
            "/analytics",
            "/admin/audit",
            "/admin/users",
            f"/admin/users/{self.users['admin'].id}",
            "/admin/settings",
            "/admin/instrument-texts",
            "/scheduling",
            f"/scheduling/sites/{p['site_id']}/day?day=2030-03-04",
            f"/scheduling/sites/{p['site_id']}/board",
            "/rems",
            "/consent",
            "/cs",
            f"/cs/containers/{p['container_id']}",
            f"/cs/inventories/{p['inventory_id']}",
            f"/cs/log?registration_id={p['registration_id']}&start=2025-01-01&end=2025-12-31",
            "/billing",
            f"/billing/sessions/{p['rich_session_id']}",
            f"/billing/patients/{p['rich_patient_id']}",
            f"{full}/rems/enrolment-form",  # the enrolment form's tablet page (issue 19.2)
            "/billing/payers",  # payers and coverage (issue 20)
            f"/billing/payers/{p['payer_id']}",
            f"/billing/patients/{p['patient_id']}/coverage",
        ]
        return pages


def walk_site(db: Session, settings: Settings, app: FastAPI) -> Site:
    """Build the clinic (committed)."""
    clinic = make_clinic(db, settings.public_clinic)
    generate(db, settings, clinic, 3, 11, today=TODAY)  # before the CS ledger exists
    db.commit()
    w: World = world_objects(db, settings, app)
    users = {k: w.users[k] for k in ("admin", "clinician", "nurse", "patient")}
    users["billing"] = make_user(db, clinic, Role.billing)
    users["frontdesk"] = make_user(db, clinic, Role.frontdesk)
    rich = db.execute(
        select(Patient.id)
        .join(TreatmentPlan, TreatmentPlan.patient_id == Patient.id)
        .join(TreatmentSession, TreatmentSession.patient_id == Patient.id)
        .where(Patient.clinic_id == clinic.id)
        .order_by(Patient.id)
        .limit(1)
    ).scalar_one()
    rich_session = db.execute(
        select(TreatmentSession.id).where(TreatmentSession.patient_id == rich).limit(1)
    ).scalar_one()
    booking = db.get(Booking, int(w.params["booking_id"]))
    assert booking is not None
    # On today's chair board: a booking under way. The board shows the clinic's today, so the
    # booking starts no earlier than the clinic's midnight (the walk ran just after it once).
    now = utcnow()
    tz = clock.clinic_tz(clinic, settings.timezone).key
    midnight = clock.local_day_bounds(clock.local_date(now, tz) or now.date(), tz)[0]
    db.add(
        Booking(
            clinic_id=clinic.id,
            site_id=booking.site_id,
            chair_id=booking.chair_id,
            patient_id=booking.patient_id,
            kind=Kind.iv,
            starts_at=max(midnight, now - timedelta(minutes=30)),
            ends_at=now + timedelta(minutes=90),
        )
    )
    params: dict[str, Any] = dict(w.params)
    params["booking_token"] = scheduling.issue_link(db, SECRET, booking)
    params["rich_patient_id"] = str(rich)
    params["rich_session_id"] = str(rich_session)
    params["registration_id"] = str(_registration(db, clinic.id))
    db.commit()
    return Site(users, {k: str(v) for k, v in params.items()})


def _registration(db: Session, clinic_id: int) -> int:
    from ketacare.features.controlled.models import CsRegistration

    reg: int = db.execute(
        select(CsRegistration.id).where(CsRegistration.clinic_id == clinic_id).limit(1)
    ).scalar_one()
    return reg
