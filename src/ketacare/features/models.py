"""Every ORM model, imported in one place for Alembic and ``create_all``."""

from ketacare.db.base import Base
from ketacare.features.admin import models as _admin  # noqa: F401
from ketacare.features.assessments import models as _assessments  # noqa: F401
from ketacare.features.audit.models import AuditEvent, AuditHead
from ketacare.features.auth.models import AuthToken, User
from ketacare.features.billing import models as _billing  # noqa: F401
from ketacare.features.clinics.models import Clinic
from ketacare.features.consent import models as _consent  # noqa: F401
from ketacare.features.controlled import models as _controlled  # noqa: F401
from ketacare.features.instruments import models as _instruments  # noqa: F401
from ketacare.features.intake.models import IntakeRecord, PlannedSession, TreatmentPlan
from ketacare.features.interop import models as _interop  # noqa: F401
from ketacare.features.notes import models as _notes  # noqa: F401
from ketacare.features.outreach import models as _outreach  # noqa: F401
from ketacare.features.patients.models import Patient
from ketacare.features.portal import models as _portal  # noqa: F401
from ketacare.features.ratelimit.models import RateCounter
from ketacare.features.rems import models as _rems  # noqa: F401
from ketacare.features.scheduling import models as _scheduling  # noqa: F401
from ketacare.features.screening.models import Lead, Screening
from ketacare.features.sessions import models as _sessions  # noqa: F401

__all__ = [
    "AuditEvent",
    "AuditHead",
    "AuthToken",
    "Base",
    "Clinic",
    "IntakeRecord",
    "Lead",
    "Patient",
    "PlannedSession",
    "RateCounter",
    "Screening",
    "TreatmentPlan",
    "User",
]
