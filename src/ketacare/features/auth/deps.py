"""Typed access rules: who is calling, and may their role do this.

Pages authenticate with the session cookie; the JSON API with ``Authorization: Bearer``
personal tokens only (never cookies, so the API needs no CSRF token). Records of another
clinic are reported as 404 by the queries themselves (see each repository).

Dependencies that touch the database are plain functions (FastAPI runs them on a worker
thread); role checks that do no I/O are ``async`` so they run on the event loop without a
thread hop, which is measurable per request (benchmarks/request_cpu.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ketacare.db.base import utcnow
from ketacare.features._kit.deps import DbDep, NowDep, SettingsDep, client_ip
from ketacare.features._kit.errors import Forbidden, LoginRequired
from ketacare.features.auth import policy, service
from ketacare.features.auth.actor import Actor
from ketacare.features.auth.models import Role, TokenKind, User
from ketacare.settings import Settings

SESSION_COOKIE = "kc_session"


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is logged in, as page templates see it (outlives the request's transaction)."""

    email: str
    role: Role
    is_staff: bool


def _remember(request: Request, user: User | None) -> None:
    request.state.user = Viewer(user.email, user.role, user.is_staff) if user else None
    # The clinic's time zone for pages (features/_kit/clock.py); the clinic is loaded with the
    # user by the token query.
    request.state.tz = user.clinic.timezone if user else None


def session_policy(settings: Settings) -> service.SessionPolicy:
    """The session lifetimes configured for this installation."""
    return service.SessionPolicy(
        max_age=timedelta(hours=settings.session_max_age_hours),
        idle=timedelta(minutes=settings.session_idle_minutes),
    )


def optional_page_user(
    request: Request, db: DbDep, settings: SettingsDep, now: NowDep
) -> User | None:
    """The user of the session cookie, or None."""
    token = request.cookies.get(SESSION_COOKIE)
    user = None
    if token:
        secret = settings.secret_key.get_secret_value()
        policy = session_policy(settings)
        user = service.resolve(db, secret, token, TokenKind.session, policy, now)
    _remember(request, user)
    return user


OptionalPageUser = Annotated[User | None, Depends(optional_page_user)]


def remember_viewer(request: Request) -> None:
    """Set ``request.state.user`` from the session cookie, outside any route (error pages).

    Used where no route dependency ran (an unknown path, a wrong method), so the page shows the
    navigation of the logged-in user. Read-only: the session is not touched.
    """
    token = request.cookies.get(SESSION_COOKIE)
    if not token or getattr(request.state, "user", None) is not None:
        return
    settings: Settings = request.app.state.settings
    with request.app.state.sessions() as db:
        now = getattr(request.app.state, "clock", utcnow)()  # the app's clock, as login's
        user = service.resolve(
            db, settings.secret_key.get_secret_value(), token, TokenKind.session,
            session_policy(settings), now,
        )  # fmt: skip
        _remember(request, user)
        db.rollback()


async def page_user(user: OptionalPageUser) -> User:
    """A logged-in user (else redirect to the login page)."""
    if user is None:
        raise LoginRequired()
    return user


def check_role_policy(request: Request, user: User) -> None:
    """Refuse a clinical write that ``user``'s role may not make (``auth.policy``).

    Called by the loaders of the objects such writes act on (patient, treatment session),
    after the object was found in the caller's clinic: another clinic's staff get 404, as
    for every other route, and a refused role gets 403 before anything is recorded.
    """
    route = request.scope.get("route")
    reason = policy.refusal(request.method, getattr(route, "path", ""), user.role)
    if reason is not None:
        raise Forbidden(reason)


async def page_staff(user: Annotated[User, Depends(page_user)]) -> User:
    """A logged-in admin, clinician or nurse."""
    if not user.is_staff:
        raise Forbidden()
    return user


def api_user(request: Request, db: DbDep, settings: SettingsDep, now: NowDep) -> User:
    """The user of a valid bearer token."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise LoginRequired("send a personal API token as 'Authorization: Bearer <token>'")
    secret = settings.secret_key.get_secret_value()
    user = service.resolve(db, secret, token.strip(), TokenKind.api, now=now)
    if user is None:
        raise LoginRequired("the API token is invalid or revoked")
    _remember(request, user)
    return user


async def api_staff(user: Annotated[User, Depends(api_user)]) -> User:
    """A bearer-token caller who is an admin, clinician or nurse."""
    if not user.is_staff:
        raise Forbidden()
    return user


async def page_admin(user: Annotated[User, Depends(page_user)]) -> User:
    """A logged-in admin (the clinic's admin pages: audit log, licensed text)."""
    if user.role != Role.admin:
        raise Forbidden("only the clinic's admins may open this page")
    return user


def _front_office(user: User) -> User:
    if user.role not in policy.FRONT_OFFICE:
        raise Forbidden()
    return user


async def page_desk(user: Annotated[User, Depends(page_user)]) -> User:
    """A logged-in staff member or front-desk user (``policy.FRONT_OFFICE``)."""
    return _front_office(user)


async def api_desk(user: Annotated[User, Depends(api_user)]) -> User:
    """A bearer-token caller who is staff or front desk (``policy.FRONT_OFFICE``)."""
    return _front_office(user)


PageUser = Annotated[User, Depends(page_user)]
PageStaff = Annotated[User, Depends(page_staff)]
PageAdmin = Annotated[User, Depends(page_admin)]
ApiUser = Annotated[User, Depends(api_user)]
ApiStaff = Annotated[User, Depends(api_staff)]
PageDesk = Annotated[User, Depends(page_desk)]
ApiDesk = Annotated[User, Depends(api_desk)]


# --- Actors: who acts in this request, over which channel, from where (features/auth/actor).
# Routes that write or read patient data take one of these and pass it to the service, which
# audits with it. ``async``: built from the already-resolved user, no I/O, no thread hop.


async def page_staff_actor(request: Request, user: OptionalPageUser) -> Actor:
    """The logged-in staff member of a page request (as ``page_staff``, checked here: one
    dependency fewer to solve on every staff page)."""
    if user is None:
        raise LoginRequired()
    if not user.is_staff:
        raise Forbidden()
    return Actor.for_user(user, "page", client_ip(request))


async def page_user_actor(request: Request, user: PageUser) -> Actor:
    """The logged-in user (staff or patient) of a page request."""
    return Actor.for_user(user, "page", client_ip(request))


async def page_admin_actor(request: Request, user: PageAdmin) -> Actor:
    """The logged-in admin of a page request."""
    return Actor.for_user(user, "page", client_ip(request))


async def api_staff_actor(request: Request, user: ApiUser) -> Actor:
    """The staff member behind the bearer token of an API request (as ``api_staff``, checked
    here: one dependency fewer to solve on every staff API call)."""
    if not user.is_staff:
        raise Forbidden()
    return Actor.for_user(user, "api", client_ip(request))


async def api_user_actor(request: Request, user: ApiUser) -> Actor:
    """The user behind the bearer token of an API request."""
    return Actor.for_user(user, "api", client_ip(request))


async def page_desk_actor(request: Request, user: PageDesk) -> Actor:
    """The logged-in staff or front-desk user of a page request (front-office routes)."""
    return Actor.for_user(user, "page", client_ip(request))


async def api_desk_actor(request: Request, user: ApiDesk) -> Actor:
    """The staff or front-desk user behind the bearer token of an API request."""
    return Actor.for_user(user, "api", client_ip(request))


async def fhir_actor(request: Request, user: ApiStaff) -> Actor:
    """The staff member behind the bearer token of a FHIR API request (channel ``fhir``)."""
    return Actor.for_user(user, "fhir", client_ip(request))


@dataclass(frozen=True, slots=True)
class DeskAccess:
    """A front-office route's access check, made later inside its one thread hop
    (``_kit.deps.in_one_hop``, the live views): ``resolve`` is ``PageDeskActor`` (channel
    ``page``) or ``ApiDeskActor`` (``api``) as a plain call, the same resolution and checks.
    The route still declares its access in its signature (``LivePageDeskActor``,
    ``LiveApiDeskActor``), so the access matrix and the OpenAPI document see it."""

    request: Request
    channel: Literal["page", "api"]

    def resolve(self, db: Session, settings: Settings, now: datetime) -> Actor:
        """The actor, or LoginRequired / Forbidden as the dependency would raise."""
        if self.channel == "page":
            found = optional_page_user(self.request, db, settings, now)
            if found is None:
                raise LoginRequired()
            user = found
        else:
            user = api_user(self.request, db, settings, now)
        return Actor.for_user(_front_office(user), self.channel, client_ip(self.request))


async def page_desk_access(request: Request) -> DeskAccess:
    """A page route's front-office check, deferred to its thread hop (no I/O here)."""
    return DeskAccess(request, "page")


async def api_desk_access(request: Request) -> DeskAccess:
    """A bearer-token route's front-office check, deferred to its thread hop (no I/O here)."""
    return DeskAccess(request, "api")


PageActor = Annotated[Actor, Depends(page_staff_actor)]
PageUserActor = Annotated[Actor, Depends(page_user_actor)]
PageAdminActor = Annotated[Actor, Depends(page_admin_actor)]
ApiActor = Annotated[Actor, Depends(api_staff_actor)]
ApiUserActor = Annotated[Actor, Depends(api_user_actor)]
FhirActor = Annotated[Actor, Depends(fhir_actor)]
#: Front-office routes (``policy.FRONT_OFFICE``): staff and the front desk.
PageDeskActor = Annotated[Actor, Depends(page_desk_actor)]
ApiDeskActor = Annotated[Actor, Depends(api_desk_actor)]
#: The same, for live views that resolve the actor inside their one thread hop.
LivePageDeskActor = Annotated[DeskAccess, Depends(page_desk_access)]
LiveApiDeskActor = Annotated[DeskAccess, Depends(api_desk_access)]
