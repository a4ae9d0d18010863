"""The live views make one thread hop a request (docs/architecture.md "Hot paths"): their
endpoint and every dependency are ``async`` (FastAPI runs a sync one on a worker thread, one
hop each), and the endpoint does its login check, reads, audit and commit in one
``in_one_hop`` call. The access they declare is still in their signature: the access matrix
(tests/test_access_matrix.py) checks who gets what, and the OpenAPI document lists 401 and 403
for the API twin."""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterator

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from ketacare.features import registry
from ketacare.features.auth.deps import api_desk_access, page_desk_access


def _calls(dependant: Dependant) -> Iterator[object]:
    for dep in dependant.dependencies:
        yield dep.call
        yield from _calls(dep)


def _live_routes(app: FastAPI) -> list[APIRoute]:
    """The routes whose paths (parameters filled in) the features declare live."""
    patterns = [re.compile(p) for p in registry.live_paths()]
    return [
        r
        for r in app.routes
        if isinstance(r, APIRoute)
        and any(p.fullmatch(re.sub(r"\{[^}]+\}", "1", r.path_format)) for p in patterns)
    ]


def test_live_views_make_no_thread_hop_before_their_own(app: FastAPI) -> None:
    routes = _live_routes(app)
    assert {r.path_format for r in routes} == {
        "/scheduling/sites/{site_id}/board.json",
        "/api/v1/scheduling/sites/{site_id}/board",
    }
    for route in routes:
        assert inspect.iscoroutinefunction(route.endpoint), route.path_format
        calls = list(_calls(route.dependant))
        sync = [c for c in calls if not inspect.iscoroutinefunction(c)]
        assert sync == [], (route.path_format, sync)  # each would be a hop of its own
        assert page_desk_access in calls or api_desk_access in calls, route.path_format
        assert "in_one_hop" in inspect.getsource(route.endpoint), route.path_format


def test_the_api_board_documents_its_token_errors(app: FastAPI) -> None:
    doc = app.openapi()["paths"]["/api/v1/scheduling/sites/{site_id}/board"]["get"]
    assert {"401", "403", "404", "422"} <= set(doc["responses"])
