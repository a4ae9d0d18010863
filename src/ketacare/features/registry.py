"""Feature registry: each feature declares its routers, CLI commands and jobs once.

A feature package holds ``feature.py`` with ``FEATURE = Feature(...)``; its name goes into
:data:`FEATURE_MODULES`. The app includes the routers, the CLI lists the commands (imported only
when run) and the periodic runner runs the jobs, by iterating over the features instead of
hand lists. ``feature.py`` modules import nothing but this module: the CLI reads them at start.

Targets are ``"module:attribute"`` strings so that nothing is imported until it is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any, cast


@dataclass(frozen=True)
class Command:
    """A CLI command (``module:function``) or command group (``module:typer_app``)."""

    help: str
    target: str
    group: bool = True


@dataclass(frozen=True)
class Job:
    """A periodic job: ``target`` is ``f(sessions, settings, now) -> object``.

    The runner calls it every periodic interval in its own thread; the job owns its
    transactions (one per clinic or per item), logs failures without patient data and goes on.
    """

    name: str
    target: str


#: Navigation groups, by task, in the order the header shows them.
NAV_GROUPS: tuple[str, ...] = ("Today", "Patients", "Measurement", "Compliance", "Billing", "Admin")


@dataclass(frozen=True)
class NavLink:
    """One link in the header navigation, shown only to ``roles`` (role values).

    ``group`` is one of :data:`NAV_GROUPS`; links sort by ``order`` within their group.
    ``badge`` names a count shown beside the link (a key of the nav-badge endpoint).
    """

    group: str
    label: str
    href: str
    roles: tuple[str, ...]
    order: int = 50
    badge: str | None = None


@dataclass(frozen=True)
class Feature:
    """What one feature package plugs into the app, the CLI and the periodic runner."""

    name: str
    routers: tuple[str, ...] = ()
    #: The routers of ``routers`` that take the load: the app includes every feature's busy
    #: routers first (in ``FEATURE_MODULES`` order), then the others.
    busy: tuple[str, ...] = ()
    commands: dict[str, Command] = field(default_factory=dict)
    jobs: tuple[Job, ...] = ()
    #: Checks other features add to the treatment-session steps (``module:function``):
    #: ``session_open``: ``f(db, settings, session, now)`` raises a refusal to open a session
    #: (REMS, consent); ``session_sign``: ``f(db, settings, session)`` returns
    #: ``(field, reasons)`` that keep it from being signed (the controlled-substance ledger, the
    #: REMS prescriber cover); ``session_page``: ``f(db, session_id)`` returns extra context for
    #: the session page (scheduling).
    session_open: tuple[str, ...] = ()
    session_sign: tuple[str, ...] = ()
    session_page: tuple[str, ...] = ()
    #: ``booking_flags``: ``f(db, clinic_id, bookings, now, tz)`` returns ``{booking id:
    #: [reason, ...]}`` shown on the scheduling day view (billing: beyond approved units).
    booking_flags: tuple[str, ...] = ()
    #: ``session_first_dose``: ``f()`` returns a scalar SQL expression: the start of the first
    #: charted dose (NULL: none) of the patient bound as ``:patient_id`` (measurement-based
    #: care's alert baseline, read in the same statement as the earlier scores; declared by
    #: sessions so that assessments, below it, does not import it).
    session_first_dose: tuple[str, ...] = ()
    #: ``prescriber_cover``: ``f(db, clinic_id, start, end)`` returns ``[(start, end, name)]``
    #: of prescribers rostered on site between the two instants (scheduling's staff shifts),
    #: which the REMS gate counts beside the attestations.
    prescriber_cover: tuple[str, ...] = ()
    #: ``escalations``: ``f(db, settings, now, clinic_id=...)`` escalates what has waited too
    #: long in one clinic (flushed, not committed) and returns an object with ``alert_ids``
    #: and ``messages`` that outreach's periodic job sends after the commit (assessments'
    #: unacknowledged alerts; declared so that outreach, below assessments, does not import it).
    escalations: tuple[str, ...] = ()
    #: Header navigation links this feature contributes (see :class:`NavLink`).
    nav: tuple[NavLink, ...] = ()
    #: Panels of the patient chart (``/patients/{id}``, issue 21.1), ``module:function``:
    #: ``f(db, actor, patient, now, settings)`` returns a list of :class:`ChartPanel`.
    #: The patients feature (low in the feature order) calls them instead of importing the
    #: features above it; clinical notes (features/notes) add theirs here.
    chart_panels: tuple[str, ...] = ()
    #: Live views that screens on the floor poll (path regular expressions, matched whole):
    #: short reads admitted through their own lane so that they never queue behind the rest
    #: of the traffic (``web.middleware.AdmissionLimit``, setting ``worker_live_concurrency``).
    live: tuple[str, ...] = ()


#: Where each panel of the patient chart goes (``ChartPanel.order``): open alerts first.
#: Clinical notes (features/notes, issue 21.7) take ``CHART_NOTES_ORDER``.
CHART_NOTES_ORDER = 60


@dataclass(frozen=True)
class ChartPanel:
    """One panel of the patient chart: ``template`` (under templates/) rendered with
    ``context`` inside a titled section ``id="panel-<key>"``; panels sort by ``order``.

    ``facts`` are (label, text) pairs the chart's identity card shows (a weight, say).
    """

    key: str
    title: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    order: int = 50
    facts: tuple[tuple[str, str], ...] = ()


#: Feature packages with a ``feature.py``, in router order: the app includes routers in this
#: order and the framework tries them in turn, so the busiest come first
#: (benchmarks/request_cpu.py prints the matching time; tests/test_routes.py proves no path
#: matches routes of two routers, so the order changes nothing else). Features without
#: routers follow; ``ketacare --help`` lists single commands first, then groups, in this order.
FEATURE_MODULES: tuple[str, ...] = (
    "screening",
    "sessions",
    "assessments",
    "outreach",
    "patients",
    "auth",
    "intake",
    "audit",
    "interop",
    "reports",
    "scheduling",
    "controlled",
    "rems",
    "consent",
    "billing",
    "notes",
    "admin",
    "system",
    "instruments",
    "pk",
    "clinics",
    "demo",
    "jobs",
    "portal",
    "home",
    "chart",
)


def resolve(target: str) -> object:
    """Import ``module:attribute`` and return the attribute."""
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def features() -> list[Feature]:
    """Every registered feature's declaration (imports only the ``feature.py`` modules)."""
    found = []
    for name in FEATURE_MODULES:
        module = importlib.import_module(f"ketacare.features.{name}.feature")
        declared = module.FEATURE
        assert isinstance(declared, Feature), name
        found.append(declared)
    return found


def routers() -> list[object]:
    """Every registered router: the busy ones first, each group in :data:`FEATURE_MODULES`
    order (imports the features)."""
    found = features()
    busy = [t for f in found for t in f.routers if t in f.busy]
    rest = [t for f in found for t in f.routers if t not in f.busy]
    return [resolve(target) for target in busy + rest]


def live_paths() -> tuple[str, ...]:
    """Every registered feature's live-view paths (regular expressions), in order."""
    return tuple(p for feature in features() for p in feature.live)


def features_jobs() -> list[Job]:
    """Every registered feature's periodic jobs."""
    return [job for feature in features() for job in feature.jobs]


@cache
def session_hooks(kind: str) -> tuple[Callable[..., Any], ...]:
    """The functions registered for a hook field of :class:`Feature` (``session_open``,
    ``session_sign``, ``session_page``, ``session_first_dose``, ``booking_flags``,
    ``prescriber_cover``, ``chart_panels``, ``escalations``), in :data:`FEATURE_MODULES` order.

    The sessions feature calls these instead of importing the features above it, so the
    feature order stays a one-way street (the "Feature order" import-linter contract).
    """
    found: list[Callable[..., Any]] = []
    for feature in features():
        for target in getattr(feature, kind):
            hook = resolve(target)
            assert callable(hook), target
            found.append(cast(Callable[..., Any], hook))
    return tuple(found)


@cache
def chart_hooks() -> tuple[Callable[..., Any], ...]:
    """The registered ``chart_panels`` functions, in :data:`FEATURE_MODULES` order."""
    return session_hooks("chart_panels")


@cache
def nav_links(role: str) -> tuple[tuple[str, tuple[NavLink, ...]], ...]:
    """The navigation a role sees: ``(group, links)`` pairs in :data:`NAV_GROUPS` order,
    empty groups left out, links in ``order`` then label order."""
    links = [link for f in features() for link in f.nav if role in link.roles]
    for link in links:
        assert link.group in NAV_GROUPS, link
    grouped = []
    for group in NAV_GROUPS:
        members = sorted(
            (lk for lk in links if lk.group == group), key=lambda lk: (lk.order, lk.label)
        )
        if members:
            grouped.append((group, tuple(members)))
    return tuple(grouped)
