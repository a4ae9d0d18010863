"""Dependencies shared by the session API and pages: configuration, the session of the path
(clinic-scoped, role-checked, audited as a read) and the step context (``steps.Ctx``).

The clock is the app's one clock (``NowDep``: ``app.state.clock`` when tests set it).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ketacare.domain.sessions.safety import SafetyConfig
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep, client_ip
from ketacare.features._kit.errors import Forbidden, LoginRequired
from ketacare.features._kit.params import RowId
from ketacare.features._kit.templating import page_tz
from ketacare.features.auth import service as auth_service
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.deps import (
    SESSION_COOKIE,
    ApiActor,
    PageActor,
    check_role_policy,
    session_policy,
)
from ketacare.features.auth.models import TokenKind, User
from ketacare.features.sessions import service
from ketacare.features.sessions.config import safety_config
from ketacare.features.sessions.models import TreatmentSession
from ketacare.features.sessions.steps import Ctx
from ketacare.settings import Settings


async def config_dep(settings: SettingsDep) -> SafetyConfig:
    """The safety configuration of this installation."""
    return safety_config(settings)


Config = Annotated[SafetyConfig, Depends(config_dep)]


def _read(request: Request, db: Session, actor: Actor, session_id: int) -> TreatmentSession:
    row = service.open_session(db, actor, session_id)
    # After the audited read: a refused role (403) rolls the request back, event included.
    assert actor.user is not None
    check_role_policy(request, actor.user)  # docs/roles.md
    return row


def session_for_api(
    session_id: RowId, request: Request, actor: ApiActor, db: DbDep
) -> TreatmentSession:
    """The session of the path for a staff token of its clinic (audited as a read)."""
    return _read(request, db, actor, session_id)


def session_for_page(
    session_id: RowId, request: Request, actor: PageActor, db: DbDep
) -> TreatmentSession:
    """The session of the path for logged-in staff of its clinic (audited as a read)."""
    return _read(request, db, actor, session_id)


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


async def refreshing_actor(
    request: Request, user: Annotated[User, Depends(refreshing_staff)]
) -> Actor:
    """The staff member behind the page's periodic refresh, as an actor."""
    return Actor.for_user(user, "page", client_ip(request))


RefreshActor = Annotated[Actor, Depends(refreshing_actor)]


def session_for_refresh(
    session_id: RowId, request: Request, actor: RefreshActor, db: DbDep
) -> TreatmentSession:
    """The session of the path for the page's refresh (audited as a read)."""
    return _read(request, db, actor, session_id)


ApiSession = Annotated[TreatmentSession, Depends(session_for_api)]
RefreshSession = Annotated[TreatmentSession, Depends(session_for_refresh)]
PageSession = Annotated[TreatmentSession, Depends(session_for_page)]


def _ctx(request: Request, db: Session, actor: Actor, settings: Settings, cfg: SafetyConfig,
         now: datetime) -> Ctx:  # fmt: skip
    return Ctx(db, actor, settings, cfg, now, page_tz(request))


async def page_ctx(
    request: Request, db: DbDep, actor: PageActor, settings: SettingsDep, cfg: Config, now: NowDep
) -> Ctx:
    """The step context of a page request."""
    return _ctx(request, db, actor, settings, cfg, now)


async def refresh_ctx(
    request: Request,
    db: DbDep,
    actor: RefreshActor,
    settings: SettingsDep,
    cfg: Config,
    now: NowDep,
) -> Ctx:
    """The context of the page's periodic refresh (does not count as activity by itself)."""
    return _ctx(request, db, actor, settings, cfg, now)


async def api_ctx(
    request: Request, db: DbDep, actor: ApiActor, settings: SettingsDep, cfg: Config, now: NowDep
) -> Ctx:
    """The step context of an API call."""
    return _ctx(request, db, actor, settings, cfg, now)


PageCtx = Annotated[Ctx, Depends(page_ctx)]
RefreshCtx = Annotated[Ctx, Depends(refresh_ctx)]
ApiCtx = Annotated[Ctx, Depends(api_ctx)]
