"""Clock, configuration and access rule shared by the session API and pages.

The clock is injectable: ``app.state.clock`` (a callable returning an aware UTC datetime) is
used when set, so tests control time without sleeping; otherwise the real UTC time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.domain.sessions.safety import SafetyConfig
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep, client_ip
from ketacare.features._kit.errors import Forbidden, LoginRequired, NotFound
from ketacare.features._kit.params import RowId
from ketacare.features.audit.service import record
from ketacare.features.auth import service as auth_service
from ketacare.features.auth.deps import (
    SESSION_COOKIE,
    ApiStaff,
    PageStaff,
    check_role_policy,
    session_policy,
)
from ketacare.features.auth.models import TokenKind, User
from ketacare.features.sessions.models import TreatmentSession
from ketacare.settings import Settings


async def current_time(request: Request) -> datetime:
    """Now: the app's injected clock if any, else the real UTC time."""
    clock: Callable[[], datetime] | None = getattr(request.app.state, "clock", None)
    return clock() if clock is not None else utcnow()


Now = Annotated[datetime, Depends(current_time)]


def safety_config(settings: Settings) -> SafetyConfig:
    """The clinic's session-safety configuration from the settings."""
    return SafetyConfig(
        iv_bp_systolic=settings.session_iv_bp_systolic,
        iv_bp_diastolic=settings.session_iv_bp_diastolic,
        flag_systolic=settings.session_flag_systolic,
        flag_diastolic=settings.session_flag_diastolic,
        rise_systolic=settings.session_rise_systolic,
        rise_diastolic=settings.session_rise_diastolic,
        spo2_min=settings.session_spo2_min,
        iv_discharge_after_end_min=settings.session_iv_discharge_after_end_min,
        iv_discharge_moaas=settings.session_iv_discharge_moaas,
        iv_near_baseline_systolic=settings.session_iv_near_baseline_systolic,
        iv_near_baseline_diastolic=settings.session_iv_near_baseline_diastolic,
        cadss_resolved_margin=settings.session_cadss_resolved_margin,
        rr_min=settings.session_rr_min,
        rr_max=settings.session_rr_max,
        esk_recheck_window_min=settings.session_esk_recheck_window_min,
    )


async def config_dep(settings: SettingsDep) -> SafetyConfig:
    """The safety configuration of this installation."""
    return safety_config(settings)


Config = Annotated[SafetyConfig, Depends(config_dep)]


_GET = select(TreatmentSession).where(
    TreatmentSession.id == bindparam("id"), TreatmentSession.clinic_id == bindparam("clinic")
)


def get_session(db: Session, clinic_id: int, session_id: int) -> TreatmentSession:
    """A session of this clinic, or NotFound (also for another clinic's sessions)."""
    row = db.execute(_GET, {"id": session_id, "clinic": clinic_id}).scalar_one_or_none()
    if row is None:
        raise NotFound("no such session")
    return row


def _read(
    request: Request, db: Session, user: User, session_id: int, channel: str
) -> TreatmentSession:
    row = get_session(db, user.clinic_id, session_id)
    check_role_policy(request, user)  # docs/roles.md
    record(
        db,
        user,
        "read",
        "treatment_session",
        row.id,
        row.patient_id,
        channel=channel,
        client=client_ip(request),
    )
    return row


def session_for_api(
    session_id: RowId, request: Request, user: ApiStaff, db: DbDep
) -> TreatmentSession:
    """The session of the path for a staff token of its clinic (audited as a read)."""
    return _read(request, db, user, session_id, "api")


def session_for_page(
    session_id: RowId, request: Request, user: PageStaff, db: DbDep
) -> TreatmentSession:
    """The session of the path for logged-in staff of its clinic (audited as a read)."""
    return _read(request, db, user, session_id, "page")


def refreshing_staff(request: Request, db: DbDep, settings: SettingsDep, now: NowDep) -> User:
    """Staff behind the session page's periodic refresh.

    ``?active=1`` (the page had input recently) counts as activity and keeps the login alive;
    without it the refresh does not, so an unattended tablet still logs out when idle.
    """
    token = request.cookies.get(SESSION_COOKIE, "")
    active = request.query_params.get("active") == "1"
    user = (
        auth_service.resolve(
            db,
            settings.secret_key.get_secret_value(),
            token,
            TokenKind.session,
            session_policy(settings),
            now=now,
            touch=active,
        )
        if token
        else None
    )
    if user is None:
        raise LoginRequired()
    if not user.is_staff:
        raise Forbidden()
    return user


def session_for_refresh(
    session_id: RowId,
    request: Request,
    user: Annotated[User, Depends(refreshing_staff)],
    db: DbDep,
) -> TreatmentSession:
    """The session of the path for the page's refresh (audited as a read)."""
    return _read(request, db, user, session_id, "page")


ApiSession = Annotated[TreatmentSession, Depends(session_for_api)]
RefreshSession = Annotated[TreatmentSession, Depends(session_for_refresh)]
PageSession = Annotated[TreatmentSession, Depends(session_for_page)]


def audit(
    request: Request,
    db: Session,
    user: User,
    action: str,
    resource: str,
    rid: object,
    patient_id: int | None,
    channel: str,
    outcome: str = "ok",
) -> None:
    """Record one session event in the audit chain."""
    record(
        db,
        user,
        action,
        resource,
        rid,
        patient_id,
        outcome=outcome,
        channel=channel,
        client=client_ip(request),
    )
