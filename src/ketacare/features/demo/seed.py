"""The demo clinic created by ``make run`` (idempotent)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ketacare.features.auth import service as accounts
from ketacare.features.auth.models import Role
from ketacare.features.clinics.repository import get_or_create
from ketacare.settings import Settings

DEMO_PASSWORD = "ketacare-demo"
#: The demo clinic works in US Eastern time (``ketacare clinic set-timezone`` changes it).
DEMO_TIMEZONE = "America/New_York"
DEMO_USERS = (
    ("admin@demo.ketacare.example", Role.admin),
    ("clinician@demo.ketacare.example", Role.clinician),
    ("nurse@demo.ketacare.example", Role.nurse),
    ("patient@demo.ketacare.example", Role.patient),
    ("frontdesk@demo.ketacare.example", Role.frontdesk),
)


def seed(db: Session, settings: Settings) -> list[tuple[str, str, str]]:
    """Create the public clinic and one user per role; return (email, role, password)."""
    clinic = get_or_create(db, settings.public_clinic, settings.clinic_name)
    if clinic.timezone is None:
        clinic.timezone = DEMO_TIMEZONE
    for email, role in DEMO_USERS:
        if accounts.user_by_email(db, email) is None:
            # The demo password is published (README) and fails the policy on purpose: the
            # demo accounts alone may have it. Never seed a real installation this way.
            accounts.create_user(db, clinic, email, role, DEMO_PASSWORD, demo_password=True)
    # The scheduling feature's demo floor: a site, chairs, 8 weeks of shifts (issue 17).
    from ketacare.db.base import utcnow
    from ketacare.features.scheduling.demo import seed_floor

    seed_floor(db, clinic, settings.timezone, utcnow())
    # The example consent templates (issue 19), so that a demo patient can sign before the
    # first session (a session needs a valid consent by default: KETACARE_CONSENT_REQUIRED).
    from ketacare.features.auth.actor import Actor
    from ketacare.features.consent.service import seed_examples

    seed_examples(db, Actor.cli(clinic.id), clinic.id, utcnow(), check_role=False)
    return [(email, role.value, DEMO_PASSWORD) for email, role in DEMO_USERS]
