"""The Jinja2 environment shared by every feature's pages (autoescaped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import pass_context
from jinja2.runtime import Context

from ketacare.features._kit import clock

TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATE_DIR))

BAND_LABELS = {
    "none": "None–minimal",
    "mild": "Mild",
    "moderate": "Moderate",
    "moderately_severe": "Moderately severe",
    "severe": "Severe",
}
templates.env.globals["band_label"] = lambda band: BAND_LABELS.get(band or "", band or "")


@pass_context
def _local(ctx: Context, dt: Any, fmt: str = clock.DATETIME_FORMAT) -> str:
    """``{{ dt | local }}``: a stored UTC instant in the clinic's time zone (context ``tz``)."""
    return clock.format_local(dt, ctx.get("tz"), fmt)


@pass_context
def _local_input(ctx: Context, dt: Any) -> str:
    """``{{ dt | local_input }}``: the value of a ``datetime-local`` input, in clinic time."""
    return clock.input_value(dt, ctx.get("tz"))


@pass_context
def _tz_label(ctx: Context, dt: Any = None) -> str:
    """``{{ tz_label() }}``: the clinic zone's abbreviation now (or at ``dt``): EST, EDT."""
    return clock.tz_label(dt, ctx.get("tz"))


templates.env.filters["local"] = _local
templates.env.filters["local_input"] = _local_input
templates.env.globals["tz_label"] = _tz_label


def page_tz(request: Request) -> str:
    """The zone a page shows and reads times in: the caller's clinic's, else KETACARE_TIMEZONE."""
    return getattr(request.state, "tz", None) or str(request.app.state.settings.timezone)


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page with the request, current user, CSRF token, settings and time zone
    (``tz``: the logged-in user's clinic zone, else ``KETACARE_TIMEZONE``) in context."""
    settings = request.app.state.settings
    ctx: dict[str, Any] = {
        "user": getattr(request.state, "user", None),
        "csrf_token": getattr(request.state, "csrf_token", ""),
        "settings": settings,
        "tz": page_tz(request),
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
