"""No path can be served by routes of two different routers.

The app includes its routers in feature-registry order, busiest first
(``ketacare.web.app.routers()``, ``FEATURE_MODULES``): the framework tries them in turn. That
order is free only if no request path matches routes of two routers; this test checks every
route's own sample paths against every route of the other routers.
"""

from __future__ import annotations

import re

from fastapi.routing import APIRoute
from starlette.routing import Match

from ketacare.web.app import routers

PARAM = re.compile(r"{[^}]+}")


def samples(path: str) -> list[str]:
    """Concrete paths of a route template: each parameter as a number and as a word."""
    return [PARAM.sub(value, path) for value in ("1", "new", "x-1")]


def test_no_path_matches_routes_of_two_routers() -> None:
    routes = [
        (i, route)
        for i, router in enumerate(routers())
        for route in router.routes
        if isinstance(route, APIRoute)
    ]
    assert len(routes) > 100
    clashes = []
    for i, route in routes:
        for path in samples(route.path):
            for method in sorted(route.methods or ()):
                scope = {"type": "http", "path": path, "method": method, "root_path": ""}
                for j, other in routes:
                    if j != i and other.matches(scope)[0] == Match.FULL:
                        clashes.append((method, path, route.path, other.path))
    assert clashes == []
