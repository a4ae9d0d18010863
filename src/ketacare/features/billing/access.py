"""Who may open billing: the ``billing`` role, admins and clinicians (auth.policy); writes:
billing users and clinicians (``ROLE_POLICY`` rows). The loaders find the record in the caller's
clinic first (another clinic's record is a 404) and audit the read with the patient."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ketacare.features._kit.deps import DbDep, client_ip
from ketacare.features._kit.errors import Forbidden
from ketacare.features._kit.params import RowId
from ketacare.features.audit.service import record
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import ApiUser, PageUser, check_role_policy
from ketacare.features.auth.models import User
from ketacare.features.auth.policy import BILLING_READERS, PAYER_WRITERS
from ketacare.features.billing import queries
from ketacare.features.billing.models import Payer
from ketacare.features.patients.models import Patient
from ketacare.features.patients.service import get_patient
from ketacare.features.sessions.models import TreatmentSession

REFUSED = "only billing users, clinicians and admins may open billing"


async def _page_billing_user(user: PageUser) -> User:
    if user.role not in BILLING_READERS:
        raise Forbidden(REFUSED)
    return user


async def _api_billing_user(user: ApiUser) -> User:
    if user.role not in BILLING_READERS:
        raise Forbidden(REFUSED)
    return user


PageBillingUser = Annotated[User, Depends(_page_billing_user)]
ApiBillingUser = Annotated[User, Depends(_api_billing_user)]


async def _page_actor(request: Request, user: PageBillingUser) -> Actor:
    return Actor.for_user(user, "page", client_ip(request))


async def _api_actor(request: Request, user: ApiBillingUser) -> Actor:
    return Actor.for_user(user, "api", client_ip(request))


PageBillingActor = Annotated[Actor, Depends(_page_actor)]
ApiBillingActor = Annotated[Actor, Depends(_api_actor)]


def _patient(request: Request, db: DbDep, actor: Actor, patient_id: int) -> Patient:
    assert actor.user is not None
    patient = get_patient(db, actor.user.clinic_id, patient_id)
    check_role_policy(request, actor.user)
    record(db, actor, "read", "billing_patient", patient.id, patient.id)
    return patient


def page_patient(
    patient_id: RowId, request: Request, db: DbDep, actor: PageBillingActor
) -> Patient:
    """The patient of the path, for a billing reader of its clinic (audited)."""
    return _patient(request, db, actor, patient_id)


def api_patient(patient_id: RowId, request: Request, db: DbDep, actor: ApiBillingActor) -> Patient:
    """The patient of the path, for a billing reader's token of its clinic (audited)."""
    return _patient(request, db, actor, patient_id)


def _session(request: Request, db: DbDep, actor: Actor, session_id: int) -> TreatmentSession:
    assert actor.user is not None
    row = queries.session(db, actor.user.clinic_id, session_id)
    check_role_policy(request, actor.user)
    return row


def page_session(
    session_id: RowId, request: Request, db: DbDep, actor: PageBillingActor
) -> TreatmentSession:
    """The treatment session of the path (its billing view audits the read)."""
    return _session(request, db, actor, session_id)


def api_session(
    session_id: RowId, request: Request, db: DbDep, actor: ApiBillingActor
) -> TreatmentSession:
    """The treatment session of the path (its billing view audits the read)."""
    return _session(request, db, actor, session_id)


BillingPagePatient = Annotated[Patient, Depends(page_patient)]
BillingApiPatient = Annotated[Patient, Depends(api_patient)]
BillingPageSession = Annotated[TreatmentSession, Depends(page_session)]
BillingApiSession = Annotated[TreatmentSession, Depends(api_session)]


async def _api_payer_writer(actor: ApiBillingActor) -> Actor:
    if actor.user is None or actor.user.role not in PAYER_WRITERS:
        raise Forbidden("only a billing user or an admin may change payers and coverage")
    return actor


ApiPayerWriter = Annotated[Actor, Depends(_api_payer_writer)]


def api_writable_payer(payer_id: RowId, db: DbDep, actor: ApiPayerWriter) -> Payer:
    """The payer of the path, in the writer's clinic (404 otherwise), before the body."""
    assert actor.user is not None
    return queries.payer(db, actor.user.clinic_id, payer_id)


ApiWritablePayer = Annotated[Payer, Depends(api_writable_payer)]
