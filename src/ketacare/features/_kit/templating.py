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
from ketacare.features._kit.labels import BAND_LABELS, code_label, instrument_label, plural

TEMPLATE_DIR = Path(__file__).resolve().parent.parent.parent / "templates"
templates = Jinja2Templates(directory=str(TEMPLATE_DIR))

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


templates.env.globals["instrument_label"] = instrument_label
templates.env.filters["instrument_label"] = instrument_label
templates.env.filters["code_label"] = code_label
templates.env.globals["plural"] = plural
templates.env.filters["local"] = _local
templates.env.filters["local_input"] = _local_input
templates.env.globals["tz_label"] = _tz_label


def page_tz(request: Request) -> str:
    """The zone a page shows and reads times in: the caller's clinic's, else KETACARE_TIMEZONE."""
    return getattr(request.state, "tz", None) or str(request.app.state.settings.timezone)


def nav_for(user: Any, path: str) -> list[dict[str, Any]]:
    """The header navigation for ``user`` (grouped by task, only links the role may use),
    each link marked ``current`` when ``path`` is its page or below it."""
    if user is None:
        return []
    from ketacare.features.registry import nav_links

    role = getattr(user.role, "value", str(user.role))
    groups = nav_links(role)

    def under(href: str) -> bool:
        return path == href or path.startswith(href.rstrip("/") + "/")

    # Only the most specific link is current (/billing/payers, not also /billing).
    best = max((link.href for _, links in groups for link in links if under(link.href)),
               key=len, default=None)  # fmt: skip
    return [
        {
            "group": group,
            "links": [
                {
                    "label": link.label,
                    "href": link.href,
                    "badge": link.badge,
                    "current": link.href == best,
                }
                for link in links
            ],
        }
        for group, links in groups
    ]


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
    ctx["nav"] = nav_for(ctx["user"], request.url.path)
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
