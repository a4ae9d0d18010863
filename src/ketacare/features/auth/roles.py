"""The roles a user may have, apart from the tables (``auth.models``), so that the CLI's
``user`` and ``token`` groups declare their ``--role`` option without importing SQLAlchemy."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """What a user may do; each user has one role in one clinic."""

    admin = "admin"
    clinician = "clinician"
    nurse = "nurse"
    patient = "patient"
    #: Billing office: billing data and demographics, no clinical pages (docs/roles.md).
    billing = "billing"
    #: Front desk: scheduling, demographics, new patients and leads, sending links; no
    #: clinical pages (docs/roles.md).
    frontdesk = "frontdesk"


STAFF_ROLES = frozenset({Role.admin, Role.clinician, Role.nurse})
