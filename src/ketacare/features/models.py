"""Every ORM model, imported in one place for Alembic and ``create_all``."""

from ketacare.db.base import Base
from ketacare.features.audit.models import AuditEvent
from ketacare.features.auth.models import AuthToken, User
from ketacare.features.clinics.models import Clinic
from ketacare.features.patients.models import Patient
from ketacare.features.ratelimit.models import RateCounter
from ketacare.features.screening.models import Lead, Screening

__all__ = [
    "AuditEvent",
    "AuthToken",
    "Base",
    "Clinic",
    "Lead",
    "Patient",
    "RateCounter",
    "Screening",
    "User",
]
