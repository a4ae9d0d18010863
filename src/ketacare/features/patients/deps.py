"""Access rule shared by every patient-scoped route: the patient, in the caller's clinic,
read access audited (by ``service.open_patient``). Another clinic's patient is a 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from ketacare.features._kit import clock
from ketacare.features._kit.deps import DbDep, NowDep
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import page_tz
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import (
    ApiActor,
    ApiDeskActor,
    PageActor,
    PageDeskActor,
    check_role_policy,
)
from ketacare.features.auth.models import Role
from ketacare.features.patients.models import Patient
from ketacare.features.patients.service import (
    open_patient,
    open_patient_counting_alerts,
    patient_header,
)


def _open(db: DbDep, request: Request, actor: Actor, patient_id: int) -> Patient:
    patient = open_patient(db, actor, patient_id)
    assert actor.user is not None  # staff actors carry their user
    # A refused role gets 403 after the 404 check; the request rolls back, and with it the
    # read event queued above.
    check_role_policy(request, actor.user)
    return patient


def patient_for_page(
    patient_id: RowId, request: Request, actor: PageActor, db: DbDep, now: NowDep
) -> Patient:
    """The patient of the path, for staff of its clinic (audited as a read).

    Also leaves the patient header (name, age, record number, open alerts) in
    ``request.state.patient_header`` for ``templates/patients/_header.html``.
    """
    patient, open_alerts = open_patient_counting_alerts(db, actor, patient_id)
    assert actor.user is not None  # staff actors carry their user
    check_role_policy(request, actor.user)  # as _open: 403 after the 404 check
    today = clock.local_date(now, page_tz(request)) or now.date()
    request.state.patient_header = patient_header(db, patient, today, open_alerts)
    return patient


def patient_for_api(patient_id: RowId, request: Request, actor: ApiActor, db: DbDep) -> Patient:
    """The patient of the path, for a staff API token of its clinic (audited as a read)."""
    return _open(db, request, actor, patient_id)


def desk_patient_for_page(
    patient_id: RowId, request: Request, actor: PageDeskActor, db: DbDep, now: NowDep
) -> Patient:
    """The patient of the path, for staff or the front desk of its clinic (front-office pages:
    demographics, bookings; audited as a read). The front desk's header shows the name and
    record number only: the open-alert count is clinical."""
    if actor.user is not None and actor.user.role == Role.frontdesk:
        return _open(db, request, actor, patient_id)
    return patient_for_page(patient_id, request, actor, db, now)


def desk_patient_for_api(
    patient_id: RowId, request: Request, actor: ApiDeskActor, db: DbDep
) -> Patient:
    """The patient of the path, for a staff or front-desk API token of its clinic (audited)."""
    return _open(db, request, actor, patient_id)


PagePatient = Annotated[Patient, Depends(patient_for_page)]
ApiPatient = Annotated[Patient, Depends(patient_for_api)]
#: Front-office routes (``auth.policy.FRONT_OFFICE``): staff and the front desk.
DeskPagePatient = Annotated[Patient, Depends(desk_patient_for_page)]
DeskApiPatient = Annotated[Patient, Depends(desk_patient_for_api)]
