"""Bad input never breaks anything: schemathesis over the OpenAPI document and hypothesis over
the HTML form handlers. No 5xx on any generated input; every 422 names the field."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from schemathesis.core.result import Ok
from schemathesis.generation import GenerationMode
from sqlalchemy.orm import Session

from ketacare.features.auth.models import Role
from tests.conftest import api_token, csrf, login, make_clinic, make_user


@pytest.fixture
def staff_headers(db: Session) -> dict[str, str]:
    user = make_user(db, make_clinic(db, "public"), Role.clinician)
    return {"Authorization": f"Bearer {api_token(db, user)}"}


def _fuzz(
    operation: Any, headers: dict[str, str], modes: Counter[str], negative: bool = True
) -> None:
    """Run generated cases of one operation: no 5xx, every 422 names its fields.

    Schemathesis generates only schema-valid input unless asked. With ``negative``, about half
    of 20 cases are drawn from its negative mode (input that breaks the schema: wrong types,
    missing or extra fields, out-of-range values); 20 cases an operation cost what 25 valid
    ones did. Without it, 11 schema-valid cases: as many as the mixed run sends (some 1,300
    over the document either way). ``modes`` counts the cases sent by generation mode."""
    strategies = [operation.as_strategy(GenerationMode.POSITIVE)]
    if negative:
        strategies.append(operation.as_strategy(GenerationMode.NEGATIVE))

    @settings(
        max_examples=20 if negative else 11,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(case=st.one_of(*strategies))
    def check(case: Any) -> None:
        modes[str(case.meta.generation.mode.value)] += 1
        response = case.call(headers=headers)
        assert response.status_code < 500, f"{operation.label}: {response.text}"
        if response.status_code == 422:
            body = response.json()
            if body.get("resourceType") == "OperationOutcome":  # the /fhir API's error shape
                issues = body["issue"]
                assert issues and all(i.get("diagnostics") for i in issues), operation.label
                return
            detail = body["detail"]
            assert detail, operation.label
            assert all(d.get("field") is not None and d.get("reason") for d in detail)

    check()


@pytest.mark.long
def test_api_never_fails_on_generated_input(
    app: FastAPI, staff_headers: dict[str, str], database_url: str
) -> None:
    """Every operation of the OpenAPI document, with generated valid and invalid input.

    Schema-breaking input runs on PostgreSQL only: the same request validation refuses it
    before any query, whatever the database, and its SQLite run took half of that run's time
    (benchmarks/README.md, "Suite, eleventh session"). Schema-valid input, which reaches the
    queries, runs on both, as many cases on each."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), f"the OpenAPI document is invalid: {result}"
        operations.append(result.ok())
    assert len(operations) >= 5
    negative = not database_url.startswith("sqlite")
    modes: Counter[str] = Counter()
    for operation in operations:
        _fuzz(operation, staff_headers, modes, negative)
    assert modes["positive"] > 0, modes
    assert (modes["negative"] > 0) == negative, modes  # both kinds were sent on PostgreSQL


text = st.text(max_size=60)
answer = st.one_of(st.sampled_from(["0", "1", "2", "3", ""]), text)


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    data=st.dictionaries(
        st.one_of(
            st.sampled_from(
                [f"phq9_{i}" for i in range(1, 11)]
                + [f"gad7_{i}" for i in range(1, 8)]
                + ["idempotency_key"]
            ),
            text,
        ),
        answer,
        max_size=20,
    )
)
def test_screen_form_handles_anything(client: TestClient, data: dict[str, str]) -> None:
    token = csrf(client)
    r = client.post("/screen", data={**data, "csrf_token": token})
    assert r.status_code in (303, 422), r.text
    if r.status_code == 422:
        assert "Please" in r.text or "choose" in r.text or "NUL" in r.text


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(name=text, phone=text, email=text, preferred=text, consent=st.sampled_from(["yes", "", "x"]))
def test_consult_form_handles_anything(
    client: TestClient, name: str, phone: str, email: str, preferred: str, consent: str
) -> None:
    sid = client.post("/api/v1/screenings", json={"phq9": [0] * 9}).json()["id"]
    token = csrf(client)
    r = client.post(
        f"/screen/result/{sid}/consult",
        data={
            "name": name,
            "phone": phone,
            "email": email,
            "preferred_time": preferred,
            "consent": consent,
            "csrf_token": token,
            "idempotency_key": uuid.uuid4().hex,
        },
    )
    assert r.status_code in (200, 422), r.text


_SAME_PATIENT = {
    "given_name": "Ada",
    "family_name": "Fuzz",
    "birth_date": "1980-01-02",
    "sex": "female",
    "mrn": "0",
    "email": "",
    "phone": "",
}


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    fields=st.fixed_dictionaries(
        {
            "given_name": text,
            "family_name": text,
            "birth_date": text,
            "sex": text,
            "mrn": text,
            "email": text,
            "phone": text,
        }
    )
)
@example(fields=_SAME_PATIENT)  # created ...
@example(fields=_SAME_PATIENT)  # ... then a 409: the MRN is taken (a run found it, 2026-12-07)
def test_patient_form_handles_anything(
    client: TestClient, db: Session, fields: dict[str, str]
) -> None:
    if not client.cookies.get("kc_session"):
        login(client, make_user(db, make_clinic(db), Role.nurse).email)
    r = client.post("/patients/new", data={**fields, "csrf_token": csrf(client, "/patients")})
    assert r.status_code in (303, 409, 422), r.text
    if r.status_code == 409:  # an earlier example's patient: its MRN, or its name and birth date
        assert "already used by another patient" in r.text or "confirm_duplicate" in r.text


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(email=text, password=text, next_=text)
def test_login_form_handles_anything(
    client: TestClient, email: str, password: str, next_: str
) -> None:
    token = csrf(client, "/login")
    r = client.post(
        "/login", data={"email": email, "password": password, "next": next_, "csrf_token": token}
    )
    assert r.status_code in (401, 422, 429), r.text
