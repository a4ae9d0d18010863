"""Dependencies of the controlled-substance routes: its settings and the clinic's zone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from ketacare.features._kit.templating import page_tz
from ketacare.features.controlled.config import CsSettings, get_cs_settings


async def cs_settings(request: Request) -> CsSettings:
    """``app.state.cs_settings`` (tests set it), else ``KETACARE_CS_*`` from the environment."""
    found = getattr(request.app.state, "cs_settings", None)
    return found if isinstance(found, CsSettings) else get_cs_settings()


async def clinic_zone(request: Request) -> str:
    """The caller's clinic's time zone (set by the auth dependency), else the default."""
    return page_tz(request)


async def session_factory(request: Request) -> Callable[[], Session]:
    """The app's session factory: a streamed export reads in a session of its own, since
    the request's commits before the response body is sent."""
    factory: Callable[[], Session] = request.app.state.sessions
    return factory


CsSettingsDep = Annotated[CsSettings, Depends(cs_settings)]
TzDep = Annotated[str, Depends(clinic_zone)]
SessionsDep = Annotated[Callable[[], Session], Depends(session_factory)]
