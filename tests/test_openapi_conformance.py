"""The OpenAPI document tells the truth: schemathesis checks every operation's answers against
the documented status codes and response schemas (errors included: the shared ``ErrorResponse``
of the JSON API, ``OperationOutcome`` under /fhir), with a bounded number of generated cases
so the run stays well under a minute. The figures (requests, 5xx, mismatches) are printed."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from ketacare.settings import Settings
from ketacare.web.app import create_app
from tests.conftest import api_token, make_clinic, make_user

pytestmark = pytest.mark.timeout(240)

CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)
EXAMPLES = 4  # per operation and subject (bounded: the run stays well under a minute)


@pytest.fixture
def tokens(db: Session) -> dict[str, dict[str, str]]:
    user = make_user(db, make_clinic(db, "public"), Role.admin)
    return {"staff": {"Authorization": f"Bearer {api_token(db, user)}"}, "anonymous": {}}


def test_every_answer_matches_the_documented_status_and_schema(
    app: FastAPI, tokens: dict[str, dict[str, str]]
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document is invalid: {result}"
        operations.append(result.ok())
    figures: Counter[str] = Counter()
    failures: dict[tuple[str, str], str] = {}

    def fuzz(operation: Any, headers: dict[str, str]) -> None:
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(headers=headers)
            figures["requests"] += 1
            figures["5xx"] += response.status_code >= 500
            for check in CHECKS:
                try:
                    case.validate_response(response, checks=[check], headers=headers)
                except BaseExceptionGroup as exc:  # a failed check: record it, run the rest
                    figures[check.__name__] += 1
                    key = (operation.label, check.__name__)
                    failures.setdefault(key, f"{response.status_code}: {exc}"[:300])

        run()

    for operation in operations:
        for headers in tokens.values():
            fuzz(operation, headers)
    sys.stderr.write(f"\nschemathesis: {len(operations)} operations, {dict(figures)}\n")
    for (label, check), text in sorted(failures.items()):
        sys.stderr.write(f"  {label} [{check}] {text.splitlines()[0] if text else ''}\n")
    assert figures["requests"] >= len(operations) * 2
    assert not failures, f"{len(failures)} operation/check failures (printed above)"


@pytest.mark.parametrize(
    "when", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00", "0001-01-01T00:30:00+01:00"]
)
def test_api_body_dates_without_a_utc_instant_are_422(
    app: FastAPI, tokens: dict[str, dict[str, str]], when: str
) -> None:
    """A completed_at that has no UTC instant (the year-1 or year-9999 edge with an offset)
    is a 422 naming the field, never a 500."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        headers = tokens["staff"]
        person = {"given_name": "A", "family_name": "B", "birth_date": "1980-01-01"}
        pid = client.post("/api/v1/patients", json=person, headers=headers).json()["id"]
        body = {"instrument": "phq2", "answers": [0, 0], "completed_at": when}
        r = client.post(f"/api/v1/patients/{pid}/assessments", json=body, headers=headers)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["field"] == "completed_at"


#: Integers of the JSON API's input that the schema leaves open because a rule checks them
#: with a message of its own (a 422 naming the field, whatever the value): an instrument's
#: item range, the protocol's esketamine doses.
CHECKED_BY_RULES = {
    "POST /api/v1/sessions/{session_id}/scales body.answers{}",
    "POST /api/v1/patients/{patient_id}/assessments body.answers{}",
    "POST /api/v1/patients/{patient_id}/assessments body.answers[]",
    "POST /api/v1/patients/{patient_id}/plan body.esketamine_dose_mg",
}


def _open_numbers(schema: dict[str, Any], where: str, parts: dict[str, Any]) -> Iterator[str]:
    """Where ``schema`` (resolved through ``parts``, the document's components) admits an
    integer or number with no minimum or no maximum."""
    if "$ref" in schema:
        yield from _open_numbers(parts[schema["$ref"].rsplit("/", 1)[1]], where, parts)
        return
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            yield from _open_numbers(sub, where, parts)
    if schema.get("type") in ("integer", "number") and not (
        {"minimum", "exclusiveMinimum"} & schema.keys()
        and {"maximum", "exclusiveMaximum"} & schema.keys()
    ):
        yield where
    for name, sub in schema.get("properties", {}).items():
        yield from _open_numbers(sub, f"{where}.{name}", parts)
    if isinstance(schema.get("items"), dict):
        yield from _open_numbers(schema["items"], f"{where}[]", parts)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _open_numbers(schema["additionalProperties"], f"{where}{{}}", parts)


def test_every_number_the_api_takes_is_bounded(tmp_path: Path) -> None:
    """Every integer or number of a path, query or body has a minimum and a maximum in the
    document (the database's integer columns end at 2,147,483,647: an unbounded id reached
    PostgreSQL and answered 500), unless a rule checks it (``CHECKED_BY_RULES``)."""
    settings = Settings(database_url=f"sqlite:///{tmp_path}/doc.db", data_dir=tmp_path)
    document = create_app(settings).openapi()
    parts = document.get("components", {}).get("schemas", {})
    found: set[str] = set()
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            at = f"{method.upper()} {path}"
            for param in operation.get("parameters", []):
                where = f"{at} {param['in']}:{param['name']}"
                found |= set(_open_numbers(param.get("schema", {}), where, parts))
            for media in operation.get("requestBody", {}).get("content", {}).values():
                found |= set(_open_numbers(media.get("schema", {}), f"{at} body", parts))
    assert found - CHECKED_BY_RULES == set()
    assert found >= CHECKED_BY_RULES  # the list names nothing that has bounds now
